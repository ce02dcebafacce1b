// The Telegram panel's "Send a message": chat, text, formatting, silent,
// an inline keyboard; sendMessage through the action route, or, for
// Markdown that Gatehouse converts, one message through the messages API
// (format "markdown"). What was sent is listed under "Sent this session",
// each with Edit (editMessageText) and Delete (deleteMessage).
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError, randomId, unwrapResult, type FieldError, type SendMessageParams, type TelegramMessage } from '../../lib/api';
import { isAbort, waitForJob } from '../../lib/jobs';
import {
  chatIdValue, checkChatId, checkKeyboard, checkText, FORMAT_LABELS, keyboardFrom, keyboardMarkup, splitFieldErrors, telegramRefusal,
  type Keyboard, type TextFormat,
} from '../../lib/telegram';
import type { Gateway } from '../../lib/types';
import { IconSend, IconTrash } from '../icons';
import { Button, Field, Modal, Notice, ProblemAlert } from '../ui';
import { KeyboardEditor } from './KeyboardEditor';

/** A message sent from this page, kept until the page is left. */
export interface SentMessage {
  key: string;
  /** As sent: editMessageText and deleteMessage name the chat the same way. */
  chatId: number | string;
  messageId: number;
  text: string;
  /** How the text was sent: a parse mode ("" for plain), or markdown for Markdown that Gatehouse converted. */
  format: TextFormat;
  kb: Keyboard;
  /** Which part of a long Markdown message this is, when it was split. */
  part?: { n: number; of: number };
  sentAt: Date;
  state: 'live' | 'deleted' | 'gone';
  note?: { kind: 'success' | 'info' | 'warning'; text: string };
}

type Note = { kind: 'success' | 'info' | 'warning'; title: string; body?: string } | null;

const EDIT_FORMATS: TextFormat[] = ['', 'HTML', 'MarkdownV2', 'markdown'];

/** The alert of a failed request, with the field errors no input shows. */
function RequestProblem({ error, other }: { error: unknown; other: FieldError[] }) {
  if (!error) return null;
  return (
    <ProblemAlert error={error} compact>
      {other.length > 0 && (
        <ul class="alert__list">
          {other.map((f) => <li><span class="mono">{f.field}</span>: {f.message}</li>)}
        </ul>
      )}
    </ProblemAlert>
  );
}

export function SendMessage({ gateway }: { gateway: Gateway }) {
  const { api } = useApp();
  const connected = gateway.status === 'CONNECTED';
  const [chatId, setChatId] = useState('');
  const [text, setText] = useState('Hello from Gatehouse!');
  const [format, setFormat] = useState<TextFormat>('');
  const [silent, setSilent] = useState(false);
  const [kb, setKb] = useState<Keyboard>([]);
  const [busy, setBusy] = useState<null | 'sending' | 'queued'>(null);
  const [error, setError] = useState<unknown>(null);
  const [other, setOther] = useState<FieldError[]>([]);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<Note>(null);
  const [sent, setSent] = useState<SentMessage[]>([]);
  // The Idempotency-Key of a Markdown send whose answer never came: sent
  // again with it, the message is queued once whatever happened.
  const pendingKey = useRef<string | null>(null);
  const alive = useRef<AbortController | null>(null);
  useEffect(() => () => alive.current?.abort(), []);

  const params = (): SendMessageParams => {
    const p: SendMessageParams = { chat_id: chatIdValue(chatId.trim()), text };
    if (format === 'markdown') p.format = 'markdown';
    else if (format) p.parse_mode = format;
    if (silent) p.disable_notification = true;
    const markup = keyboardMarkup(kb);
    if (markup) p.reply_markup = markup;
    return p;
  };

  const record = (ids: number[], f: TextFormat) => {
    const at = new Date();
    const chat = chatIdValue(chatId.trim());
    const entries: SentMessage[] = ids.map((id, n) => ({
      key: `${String(chat)}:${id}`, chatId: chat, messageId: id, text: ids.length > 1 ? '' : text, format: f,
      // A split message carries its keyboard on its last part.
      kb: n === ids.length - 1 ? kb : [], part: ids.length > 1 ? { n: n + 1, of: ids.length } : undefined, sentAt: at, state: 'live',
    }));
    setSent((s) => [...entries.reverse(), ...s]);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const fe: Record<string, string> = { ...checkKeyboard(kb) };
    const ce = checkChatId(chatId);
    if (ce) fe.chat_id = ce;
    const te = checkText(text, format);
    if (te) fe.text = te;
    setFieldErr(fe);
    setError(null);
    setOther([]);
    setNotice(null);
    if (Object.keys(fe).length) {
      // Take the person to the first mistake.
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[data-testid="telegram-send"] [aria-invalid="true"]')?.focus());
      return;
    }
    setBusy('sending');
    try {
      if (format === 'markdown') await sendMarkdown();
      else {
        const r = await api.action<unknown>(gateway.id, 'sendMessage', params() as unknown as Record<string, unknown>);
        const msg = unwrapResult<TelegramMessage>(r, 'message_id');
        const id = Number(msg?.message_id);
        if (Number.isFinite(id)) {
          record([id], format);
          setNotice({ kind: 'success', title: `Message ${id} sent to chat ${chatId.trim()}.` });
        } else setNotice({ kind: 'success', title: 'Message sent.' });
      }
    } catch (err) {
      if (isAbort(err)) return;
      setError(err);
      if (err instanceof ApiError) {
        const { fields, other: rest } = splitFieldErrors(err);
        setFieldErr(fields);
        setOther(rest);
      }
    } finally {
      if (!alive.current?.signal.aborted) setBusy(null);
    }
  };

  // One message through the messages API, then its job until it is done.
  const sendMarkdown = async () => {
    const key = pendingKey.current ?? randomId();
    pendingKey.current = key;
    let job;
    try {
      job = await api.submitMessages(gateway.id, { messages: [params()] }, key);
      pendingKey.current = null;
    } catch (err) {
      // No answer: keep the key, so Send again cannot queue it twice.
      if (!(err instanceof ApiError && err.status === 0)) pendingKey.current = null;
      throw err;
    }
    setBusy('queued');
    alive.current = new AbortController();
    const done = await waitForJob(api, gateway.id, job.jobId, { signal: alive.current.signal });
    const item = done?.items[0];
    if (!done || done.status !== 'DONE' || !item) {
      setNotice({ kind: 'info', title: 'Still queued.', body: `Job ${job.jobId} sends it when its turn comes; Gatehouse paces messages to Telegram's limits.` });
      return;
    }
    if (item.status === 'SENT') {
      const ids = item.messageIds?.length ? item.messageIds : item.messageId != null ? [item.messageId] : [];
      record(ids, 'markdown');
      setNotice({
        kind: 'success',
        title: ids.length > 1 ? `Sent as ${ids.length} messages (${ids.join(', ')}) to chat ${chatId.trim()}.` : `Message ${ids[0]} sent to chat ${chatId.trim()}.`,
        body: ids.length > 1 ? 'The text was longer than one Telegram message, so Gatehouse split it.' : undefined,
      });
    } else if (item.status === 'UNKNOWN') {
      setNotice({ kind: 'warning', title: 'Sent, but Telegram’s answer never came — not resent.', body: 'Look in the chat before sending it again.' });
    } else {
      setError(new ApiError({ status: 422, title: 'Telegram refused the message', detail: item.error ?? '' }));
    }
  };

  const update = (key: string, patch: Partial<SentMessage>) => setSent((s) => s.map((m) => (m.key === key ? { ...m, ...patch } : m)));

  const disabled = !!busy;
  return (
    <>
      <h3 class="subhead">Send a message</h3>
      <form onSubmit={submit} noValidate class="stack" data-testid="telegram-send">
        {!connected && <p class="muted small">Connect the gateway to send messages.</p>}
        <RequestProblem error={error} other={other} />
        {notice && (
          <Notice kind={notice.kind} title={notice.title} onDismiss={() => setNotice(null)}>{notice.body}</Notice>
        )}
        <Field id="tg-send-chat" label="Chat ID" hint="A numeric chat id, or @channelusername." error={fieldErr.chat_id} required>
          {({ id, describedBy, invalid }) => <input id={id} name="chat_id" value={chatId} placeholder="123456789" autocomplete="off" aria-describedby={describedBy} aria-invalid={invalid} disabled={disabled} onInput={(e) => setChatId(e.currentTarget.value)} />}
        </Field>
        <Field id="tg-send-text" label="Message" error={fieldErr.text} required>
          {({ id, describedBy, invalid }) => <textarea id={id} name="text" rows={3} value={text} aria-describedby={describedBy} aria-invalid={invalid} disabled={disabled} onInput={(e) => setText(e.currentTarget.value)} />}
        </Field>
        <div class="grid-2 tg-options">
          <Field id="tg-send-format" label="Formatting" error={fieldErr.parse_mode ?? fieldErr.format}
            hint={format === 'markdown' ? 'Write ordinary Markdown; Gatehouse converts it to Telegram’s HTML and splits long texts.' : undefined}>
            {({ id, describedBy, invalid }) => (
              <select id={id} name="format" value={format} aria-describedby={describedBy} aria-invalid={invalid} disabled={disabled} onChange={(e) => setFormat(e.currentTarget.value as TextFormat)}>
                {(['', 'HTML', 'MarkdownV2', 'markdown'] as TextFormat[]).map((f) => <option value={f}>{FORMAT_LABELS[f]}</option>)}
              </select>
            )}
          </Field>
          <label class="check tg-silent">
            <input type="checkbox" name="disable_notification" checked={silent} disabled={disabled} onChange={(e) => setSilent(e.currentTarget.checked)} />
            Send silently (no notification sound)
          </label>
        </div>
        <KeyboardEditor idBase="tg-send" kb={kb} onChange={setKb} errors={fieldErr} disabled={disabled} />
        <div class="form-actions">
          <Button type="submit" variant="primary" icon={<IconSend size={16} />} loading={!!busy} loadingText={busy === 'queued' ? 'Queued…' : 'Sending…'} disabled={!connected}>
            Send message
          </Button>
        </div>
      </form>
      {sent.length > 0 && (
        <SentList gateway={gateway} items={sent} update={update} />
      )}
    </>
  );
}

function SentList({ gateway, items, update }: { gateway: Gateway; items: SentMessage[]; update: (key: string, patch: Partial<SentMessage>) => void }) {
  const { api } = useApp();
  const [editing, setEditing] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<SentMessage | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteErr, setDeleteErr] = useState<unknown>(null);
  const connected = gateway.status === 'CONNECTED';

  const remove = async () => {
    if (!confirm || deleting) return;
    const m = confirm;
    setDeleting(true);
    setDeleteErr(null);
    try {
      await api.action(gateway.id, 'deleteMessage', { chat_id: m.chatId, message_id: m.messageId });
      update(m.key, { state: 'deleted', note: { kind: 'success', text: `Message ${m.messageId} deleted.` } });
      setConfirm(null);
      if (editing === m.key) setEditing(null);
    } catch (err) {
      const why = telegramRefusal(err);
      if (why === 'delete_not_found') {
        update(m.key, { state: 'gone', note: { kind: 'info', text: `Message ${m.messageId} was already gone: Telegram has no such message in chat ${String(m.chatId)} (deleted in the chat, perhaps).` } });
        setConfirm(null);
      } else if (why === 'cant_delete') {
        update(m.key, { note: { kind: 'warning', text: `Telegram won’t delete message ${m.messageId}: a bot may delete its messages only within 48 hours, and in groups only with the right to.` } });
        setConfirm(null);
      } else setDeleteErr(err);
    } finally {
      setDeleting(false);
    }
  };

  return (
    <>
      <h3 class="subhead" id="tg-sent-title">Sent this session</h3>
      <ul class="sent-list" aria-labelledby="tg-sent-title" data-testid="sent-list">
        {items.map((m) => (
          <li class={`sent-row${m.state !== 'live' ? ' is-gone' : ''}`} key={m.key} data-testid="sent-row" data-message-id={m.messageId}>
            <div class="sent-row__head">
              <span class="sent-row__id">Message {m.messageId}{m.part ? <span class="muted"> · part {m.part.n} of {m.part.of}</span> : null}</span>
              <span class="muted small">chat <span class="mono">{String(m.chatId)}</span> · {m.sentAt.toLocaleTimeString()}</span>
              {m.state === 'deleted' && <span class="pill">Deleted</span>}
              {m.state === 'gone' && <span class="pill">Gone</span>}
            </div>
            {m.text && <p class="sent-row__text">{m.text}</p>}
            {m.kb.length > 0 && (
              <div class="chips" aria-label="Buttons">
                {m.kb.flat().map((b) => <span class="chip">{b.text}</span>)}
              </div>
            )}
            {m.note && <Notice kind={m.note.kind} title={m.note.text} onDismiss={() => update(m.key, { note: undefined })} />}
            {m.state === 'live' && editing !== m.key && (
              <div class="sent-row__actions">
                <Button size="sm" disabled={!connected} aria-label={`Edit message ${m.messageId}`} onClick={() => { update(m.key, { note: undefined }); setEditing(m.key); }}>Edit</Button>
                <Button size="sm" variant="ghost" icon={<IconTrash size={15} />} disabled={!connected} aria-label={`Delete message ${m.messageId}`} onClick={() => { setDeleteErr(null); setConfirm(m); }}>Delete</Button>
              </div>
            )}
            {m.state === 'live' && editing === m.key && (
              <EditMessage gateway={gateway} message={m} onClose={() => setEditing(null)} update={(p) => update(m.key, p)} />
            )}
          </li>
        ))}
      </ul>
      {confirm && (
        <Modal
          title={`Delete message ${confirm.messageId}?`}
          busy={deleting}
          onClose={() => setConfirm(null)}
          footer={
            <>
              <Button onClick={() => setConfirm(null)} disabled={deleting}>Cancel</Button>
              <Button variant="danger" icon={<IconTrash size={16} />} loading={deleting} loadingText="Deleting…" onClick={remove}>Delete message</Button>
            </>
          }
        >
          <p>Message {confirm.messageId} disappears from chat <span class="mono">{String(confirm.chatId)}</span> for everyone. This can’t be undone.</p>
          {deleteErr ? <ProblemAlert error={deleteErr} compact /> : null}
        </Modal>
      )}
    </>
  );
}

function EditMessage({ gateway, message, onClose, update }: { gateway: Gateway; message: SentMessage; onClose: () => void; update: (p: Partial<SentMessage>) => void }) {
  const { api } = useApp();
  const base = `tg-edit-${message.messageId}`;
  const [text, setText] = useState(message.text);
  // A message Gatehouse converted from Markdown is edited in Markdown too.
  const [format, setFormat] = useState<TextFormat>(message.format);
  const [kb, setKb] = useState<Keyboard>(message.kb);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [other, setOther] = useState<FieldError[]>([]);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);

  const save = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const fe: Record<string, string> = { ...checkKeyboard(kb) };
    const te = checkText(text, format);
    if (te) fe.text = te;
    setFieldErr(fe);
    setError(null);
    setOther([]);
    setNotice(null);
    if (Object.keys(fe).length) return;
    setBusy(true);
    try {
      const params: Record<string, unknown> = { chat_id: message.chatId, message_id: message.messageId, text };
      if (format === 'markdown') params.format = 'markdown';
      else if (format) params.parse_mode = format;
      // Without reply_markup Telegram removes the keyboard: an empty editor means no buttons.
      const markup = keyboardMarkup(kb);
      if (markup) params.reply_markup = markup;
      const r = await api.action<unknown>(gateway.id, 'editMessageText', params);
      const msg = unwrapResult<TelegramMessage>(r, 'message_id');
      update({ text, format, kb: msg?.reply_markup ? keyboardFrom(msg.reply_markup) : kb, note: { kind: 'success', text: `Message ${message.messageId} edited.` } });
      onClose();
    } catch (err) {
      const why = telegramRefusal(err);
      if (why === 'not_modified') {
        setNotice('Nothing to change: Telegram already shows this text and keyboard.');
      } else if (why === 'edit_not_found') {
        update({ state: 'gone', note: { kind: 'info', text: `Message ${message.messageId} is gone (deleted in the chat, perhaps), so it can’t be edited.` } });
        onClose();
      } else {
        setError(err);
        if (err instanceof ApiError) {
          const { fields, other: rest } = splitFieldErrors(err);
          setFieldErr(fields);
          setOther(rest);
        }
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="stack sent-edit" onSubmit={save} noValidate data-testid="telegram-edit" aria-label={`Edit message ${message.messageId}`}>
      <RequestProblem error={error} other={other} />
      {notice && <Notice kind="info" title={notice} onDismiss={() => setNotice(null)} />}
      <Field id={`${base}-text`} label="New text" error={fieldErr.text} required
        hint={format === 'markdown' ? 'Write ordinary Markdown; Gatehouse converts it to Telegram’s HTML. An edit replaces one message, so the text must fit in one.' : undefined}>
        {({ id, describedBy, invalid }) => <textarea id={id} rows={3} value={text} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy} onInput={(e) => setText(e.currentTarget.value)} />}
      </Field>
      <Field id={`${base}-format`} label="Formatting" error={fieldErr.parse_mode ?? fieldErr.format}>
        {({ id, describedBy, invalid }) => (
          <select id={id} value={format} aria-describedby={describedBy} aria-invalid={invalid} disabled={busy} onChange={(e) => setFormat(e.currentTarget.value as TextFormat)}>
            {EDIT_FORMATS.map((f) => <option value={f}>{FORMAT_LABELS[f]}</option>)}
          </select>
        )}
      </Field>
      <KeyboardEditor idBase={base} kb={kb} onChange={setKb} errors={fieldErr} disabled={busy} />
      <div class="form-actions">
        <Button onClick={onClose} disabled={busy}>Cancel</Button>
        <Button type="submit" variant="primary" loading={busy} loadingText="Saving…">Save changes</Button>
      </div>
    </form>
  );
}
