import { render, screen } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { GatewayStatusBadge, GatewayStatusIndicator, StatusDot } from '../src/components/GatewayStatus';

describe('StatusDot', () => {
  it.each([
    ['CONNECTED', 'status-dot--connected', 'Connected'],
    ['DISCONNECTED', 'status-dot--disconnected', 'Disconnected'],
    ['ERROR', 'status-dot--error', 'Error'],
    ['CONNECTING', 'status-dot--connecting', 'Connecting'],
  ])('%s is coloured by its class and labelled for screen readers', (status, cls, label) => {
    render(<StatusDot status={status} />);
    const dot = screen.getByRole('img', { name: label });
    expect(dot.className).toContain(cls);
  });

  it('animates only while connecting', () => {
    const { container, rerender } = render(<StatusDot status="CONNECTING" />);
    expect(container.querySelector('.is-animated')).not.toBeNull();
    rerender(<StatusDot status="CONNECTED" />);
    expect(container.querySelector('.is-animated')).toBeNull();
  });

  it('is hidden from assistive tech when decorative', () => {
    const { container } = render(<StatusDot status="ERROR" decorative />);
    expect(container.firstElementChild!.getAttribute('aria-hidden')).toBe('true');
    expect(screen.queryByRole('img')).toBeNull();
  });

  it('falls back for a status it does not know', () => {
    render(<StatusDot status="PAUSED" />);
    expect(screen.getByRole('img', { name: 'PAUSED' }).className).toContain('status-dot--unknown');
  });
});

describe('GatewayStatusBadge', () => {
  it('shows the label', () => {
    render(<GatewayStatusBadge status="CONNECTED" />);
    const b = screen.getByTestId('status-badge');
    expect(b.textContent).toBe('Connected');
    expect(b.className).toContain('status-badge--connected');
    expect(b.getAttribute('title')).toBeNull();
  });

  it('puts the last error on hover and marks it', () => {
    render(<GatewayStatusBadge status="ERROR" lastError="Telegram getMe failed (401): Unauthorized" />);
    const b = screen.getByTestId('status-badge');
    expect(b.getAttribute('title')).toBe('Last error: Telegram getMe failed (401): Unauthorized');
    expect(b.className).toContain('status-badge--error');
    expect(b.querySelector('.status-badge__alert')).not.toBeNull();
  });
});

describe('GatewayStatusIndicator', () => {
  it('shows a label by default and can hide it', () => {
    const { rerender } = render(<GatewayStatusIndicator status="DISCONNECTED" />);
    expect(screen.getByText('Disconnected')).toBeTruthy();
    rerender(<GatewayStatusIndicator status="DISCONNECTED" showLabel={false} />);
    expect(screen.queryByText('Disconnected')).toBeNull();
    expect(screen.getByRole('img', { name: 'Disconnected' })).toBeTruthy();
  });

  it('prints the last error when asked', () => {
    render(<GatewayStatusIndicator status="ERROR" lastError="webhook taken over by another URL" showError />);
    expect(screen.getByRole('note').textContent).toContain('webhook taken over by another URL');
  });

  it('says "Connecting…" while connecting', () => {
    render(<GatewayStatusIndicator status="CONNECTING" />);
    expect(screen.getByText('Connecting…')).toBeTruthy();
  });
});
