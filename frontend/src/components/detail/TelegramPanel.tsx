// Telegram: the webhook's state (getWebhookInfo) and "Send test message"
// (sendMessage).
import { useEffect, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError, unwrapResult } from '../../lib/api';
import { absoluteTime, relativeTime } from '../../lib/format';
import { useFetch } from '../../lib/use-fetch';
import type { Gateway, WebhookInfo } from '../../lib/types';
import { IconSend, IconTelegram } from '../icons';
import { Button, Card, Facts, Field, Notice, ProblemAlert, Skeleton } from '../ui';
import { useReportGone } from './gateway-scope';

export function TelegramPanel({ gateway, refreshKey }: { gateway: Gateway; refreshKey: number }) {
  const { api } = useApp();
  const webhook = useFetch((signal) => api.action(gateway.id, 'getWebhookInfo', {}, signal).then((d) => unwrapResult<WebhookInfo>(d, 'url')), [api, gateway.id, gateway.status, refreshKey]);
  const info = webhook.error ? null : webhook.data;
  const infoErr = webhook.error;
  const reportGone = useReportGone();
  const [chatId, setChatId] = useState('');
  const [text, setText] = useState('Hello from Gatehouse!');
  const [sending, setSending] = useState(false);
  const [sendErr, setSendErr] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const connected = gateway.status === 'CONNECTED';

  useEffect(() => reportGone(infoErr), [infoErr]);

  const send = async (e: Event) => {
    e.preventDefault();
    if (sending) return;
    const fe: Record<string, string> = {};
    if (!chatId.trim()) fe.chat_id = 'is required';
    if (!text.trim()) fe.text = 'is required';
    setFieldErr(fe);
    setSent(null);
    setSendErr(null);
    if (Object.keys(fe).length) return;
    setSending(true);
    try {
      const id = chatId.trim();
      const r = await api.action<Record<string, unknown>>(gateway.id, 'sendMessage', { chat_id: /^-?\d+$/.test(id) ? Number(id) : id, text });
      const msg = unwrapResult<Record<string, unknown>>(r, 'message_id');
      setSent(msg && msg.message_id !== undefined ? `Message ${String(msg.message_id)} sent.` : 'Message sent.');
    } catch (err) {
      setSendErr(err);
      if (err instanceof ApiError) setFieldErr(bodyFieldErrors(err));
    } finally {
      setSending(false);
    }
  };

  const lastErr = info?.last_error_message;
  return (
    <Card title="Telegram" icon={<IconTelegram size={18} />} id="telegram">
      <h3 class="subhead">Webhook</h3>
      {infoErr instanceof ApiError && infoErr.status === 409 ? (
        <p class="muted">Connect the gateway to register its webhook.</p>
      ) : infoErr ? (
        <ProblemAlert error={infoErr} compact />
      ) : !info ? (
        <Skeleton lines={2} />
      ) : (
        <Facts
          rows={[
            ['URL', info.url ? <span class="mono break">{info.url}</span> : <span class="muted">Not registered</span>],
            ['Pending updates', String(info.pending_update_count ?? 0)],
            ['Last delivery error', lastErr ? (
              <span class="text-danger">
                {lastErr}
                {info.last_error_date ? <span class="muted" title={absoluteTime(new Date(info.last_error_date * 1000).toISOString())}> · {relativeTime(new Date(info.last_error_date * 1000).toISOString())}</span> : null}
              </span>
            ) : <span class="muted">None</span>],
          ]}
        />
      )}

      <h3 class="subhead">Send test message</h3>
      <form onSubmit={send} noValidate class="stack" data-testid="telegram-send">
        {!connected && <p class="muted small">Connect the gateway to send messages.</p>}
        {sendErr ? <ProblemAlert error={sendErr} compact /> : null}
        {sent && <Notice kind="success" title={sent} onDismiss={() => setSent(null)} />}
        <Field label="Chat ID" hint="A numeric chat id, or @channelusername." error={fieldErr.chat_id} required>
          {({ id, describedBy, invalid }) => <input id={id} name="chat_id" value={chatId} placeholder="123456789" aria-describedby={describedBy} aria-invalid={invalid} disabled={sending} onInput={(e) => setChatId(e.currentTarget.value)} />}
        </Field>
        <Field label="Message" error={fieldErr.text} required>
          {({ id, describedBy, invalid }) => <textarea id={id} name="text" rows={2} value={text} aria-describedby={describedBy} aria-invalid={invalid} disabled={sending} onInput={(e) => setText(e.currentTarget.value)} />}
        </Field>
        <div class="form-actions">
          <Button type="submit" icon={<IconSend size={16} />} loading={sending} loadingText="Sending…" disabled={!connected}>Send test message</Button>
        </div>
      </form>
    </Card>
  );
}

/**
 * Field errors keyed as the action's request body names them (chat_id,
 * text): an older server prefixed them with "params.", which the body does
 * not have.
 */
export function bodyFieldErrors(err: ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(err.fieldErrors())) out[k.replace(/^params\./, '')] = v;
  return out;
}
