// Small building blocks shared by the pages.
import type { ComponentChildren, InputHTMLAttributes, JSX } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from '../lib/api';
import { announce } from '../lib/announce';
import { onLinkClick } from '../lib/router';
import { IconAlert, IconCheck, IconEye, IconEyeOff, IconX } from './icons';

export function Spinner({ label }: { label?: string }) {
  return <span class="spinner" role={label ? 'status' : undefined} aria-label={label} aria-hidden={label ? undefined : 'true'} />;
}

type ButtonProps = Omit<JSX.HTMLAttributes<HTMLButtonElement>, 'loading'> & {
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
  size?: 'sm' | 'md';
  /** Shows a spinner, disables the button and sets aria-busy. */
  loading?: boolean;
  loadingText?: string;
  icon?: ComponentChildren;
  type?: 'button' | 'submit';
  disabled?: boolean;
};

export function Button({ variant = 'secondary', size = 'md', loading = false, loadingText, icon, children, disabled, type = 'button', class: cls, ...rest }: ButtonProps) {
  return (
    <button
      {...rest}
      type={type}
      class={`btn btn--${variant} btn--${size}${cls ? ` ${cls}` : ''}`}
      disabled={disabled || loading}
      aria-busy={loading ? 'true' : undefined}
    >
      {loading ? <Spinner /> : icon}
      <span>{loading && loadingText ? loadingText : children}</span>
    </button>
  );
}

export function LinkButton({ href, variant = 'secondary', icon, children, class: cls }: { href: string; variant?: 'primary' | 'secondary' | 'ghost'; icon?: ComponentChildren; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} class={`btn btn--${variant} btn--md${cls ? ` ${cls}` : ''}`} onClick={onLinkClick}>
      {icon}
      <span>{children}</span>
    </a>
  );
}

export function Link({ href, children, class: cls, ...rest }: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a href={href} class={cls} onClick={onLinkClick} {...rest}>
      {children}
    </a>
  );
}

/** The title and detail of any failure, never a blank page. */
export function describeError(e: unknown): { title: string; detail: string } {
  if (e instanceof ApiError) return { title: e.title, detail: e.detail };
  if (e instanceof Error) return { title: 'Something went wrong', detail: e.message };
  return { title: 'Something went wrong', detail: String(e) };
}

export function ProblemAlert({ error, onRetry, children, compact }: { error: unknown; onRetry?: () => void; children?: ComponentChildren; compact?: boolean }) {
  const { title, detail } = describeError(error);
  const general = error instanceof ApiError ? error.errors.filter((f) => !f.field) : [];
  return (
    <div class={`alert alert--error${compact ? ' alert--compact' : ''}`} role="alert">
      <IconAlert />
      <div class="alert__body">
        <strong class="alert__title">{title}</strong>
        {detail && <p class="alert__detail">{detail}</p>}
        {general.map((f) => <p class="alert__detail">{f.message}</p>)}
        {children}
        {onRetry && (
          <div class="alert__actions">
            <Button size="sm" onClick={onRetry}>Try again</Button>
          </div>
        )}
      </div>
    </div>
  );
}

/** A notice; its title is announced through the app's live region (announce) when it appears or changes. */
export function Notice({ kind = 'info', title, children, onDismiss }: { kind?: 'info' | 'success' | 'warning'; title?: string; children?: ComponentChildren; onDismiss?: () => void }) {
  useEffect(() => {
    if (title) announce(title);
  }, [title]);
  return (
    <div class={`alert alert--${kind}`} data-kind={kind}>
      {kind === 'success' ? <IconCheck /> : <IconAlert />}
      <div class="alert__body">
        {title && <strong class="alert__title">{title}</strong>}
        {children && <div class="alert__detail">{children}</div>}
      </div>
      {onDismiss && (
        <button type="button" class="icon-btn" aria-label="Dismiss" onClick={onDismiss}>
          <IconX size={16} />
        </button>
      )}
    </div>
  );
}

export function Field({ label, hint, error, children, id, required, optional }: { label: ComponentChildren; hint?: ComponentChildren; error?: string | null; children: (p: { id: string; describedBy?: string; invalid: boolean }) => ComponentChildren; id?: string; required?: boolean; optional?: boolean }) {
  const auto = useId();
  const fid = id ?? `f${auto}`;
  const hintId = hint ? `${fid}-hint` : undefined;
  const errId = error ? `${fid}-error` : undefined;
  const describedBy = [errId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${error ? ' field--invalid' : ''}`}>
      <label class="field__label" for={fid}>
        {label}
        {required && <span class="field__req" aria-hidden="true"> *</span>}
        {optional && <span class="field__opt"> (optional)</span>}
      </label>
      {children({ id: fid, describedBy, invalid: !!error })}
      {error && <p class="field__error" id={errId}>{error}</p>}
      {hint && <p class="field__hint" id={hintId}>{hint}</p>}
    </div>
  );
}

export function SecretInput(props: Omit<InputHTMLAttributes<HTMLInputElement>, 'value'> & { value: string; onValue: (v: string) => void }) {
  const [shown, setShown] = useState(false);
  const { onValue, value, ...rest } = props;
  return (
    <div class="secret-input">
      <input
        {...rest}
        type={shown ? 'text' : 'password'}
        value={value}
        autocomplete="off"
        spellcheck={false}
        onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
      />
      <button type="button" class="icon-btn" aria-label={shown ? 'Hide value' : 'Show value'} aria-pressed={shown} onClick={() => setShown(!shown)}>
        {shown ? <IconEyeOff size={16} /> : <IconEye size={16} />}
      </button>
    </div>
  );
}

export function Card({ title, icon, actions, children, class: cls, id }: { title?: ComponentChildren; icon?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card${cls ? ` ${cls}` : ''}`} id={id} aria-label={typeof title === 'string' ? title : undefined}>
      {(title || actions) && (
        <header class="card__header">
          {title && <h2 class="card__title">{icon}{title}</h2>}
          {actions && <div class="card__actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function Modal({ title, children, footer, onClose, busy }: { title: string; children: ComponentChildren; footer: ComponentChildren; onClose: () => void; busy?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('[data-autofocus], button, input, textarea, select');
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !busy) onClose();
      if (e.key === 'Tab' && ref.current) {
        const els = Array.from(ref.current.querySelectorAll<HTMLElement>('button:not([disabled]), input, textarea, select, a[href]'));
        if (!els.length) return;
        const [a, z] = [els[0], els[els.length - 1]];
        if (e.shiftKey && document.activeElement === a) { e.preventDefault(); z.focus(); }
        else if (!e.shiftKey && document.activeElement === z) { e.preventDefault(); a.focus(); }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, [busy]);
  return (
    <div class="modal-backdrop" onClick={(e) => { if (e.target === e.currentTarget && !busy) onClose(); }}>
      <div class="modal" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref}>
        <h2 class="modal__title" id={titleId}>{title}</h2>
        <div class="modal__body">{children}</div>
        <div class="modal__footer">{footer}</div>
      </div>
    </div>
  );
}

/** level: the heading's level where the state sits (1 when it is the page, 2 under a page title, 3 in a card). */
export function EmptyState({ icon, title, children, action, level = 3 }: { icon?: ComponentChildren; title: string; children?: ComponentChildren; action?: ComponentChildren; level?: 1 | 2 | 3 }) {
  const H = `h${level}` as 'h1' | 'h2' | 'h3';
  return (
    <div class="empty">
      {icon && <div class="empty__icon">{icon}</div>}
      <H class="empty__title">{title}</H>
      {children && <p class="empty__text">{children}</p>}
      {action && <div class="empty__action">{action}</div>}
    </div>
  );
}

export function Skeleton({ lines = 3 }: { lines?: number }) {
  return (
    <div class="skeleton" aria-busy="true" aria-label="Loading">
      {Array.from({ length: lines }, (_, i) => <div class="skeleton__line" style={{ width: `${90 - i * 12}%` }} />)}
    </div>
  );
}

/** A definition list of label/value rows. */
export function Facts({ rows }: { rows: [ComponentChildren, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div class="facts__row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
