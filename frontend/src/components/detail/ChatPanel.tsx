// AI: a small chat box over the chat action, showing the reply, the model,
// token usage and latency.
import { useRef, useState } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ms } from '../../lib/format';
import type { ChatMessage, ChatResult, Gateway } from '../../lib/types';
import { IconChat, IconSend } from '../icons';
import { Button, Card, ProblemAlert } from '../ui';
import { useReportGone } from './gateway-scope';

interface Turn extends ChatMessage {
  meta?: ChatResult;
}

export function ChatPanel({ gateway }: { gateway: Gateway }) {
  const { api } = useApp();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState('');
  const [system, setSystem] = useState('');
  const [model, setModel] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const reportGone = useReportGone();
  const logRef = useRef<HTMLDivElement>(null);
  const connected = gateway.status === 'CONNECTED';
  const defaultModel = typeof gateway.credentialInfo?.model === 'string' ? (gateway.credentialInfo.model as string) : '';

  const send = async (e: Event) => {
    e.preventDefault();
    const text = input.trim();
    if (busy || !text) return;
    const history: Turn[] = [...turns, { role: 'user', content: text }];
    setTurns(history);
    setInput('');
    setError(null);
    setBusy(true);
    try {
      const params: Record<string, unknown> = { messages: history.map(({ role, content }) => ({ role, content })) };
      if (model.trim()) params.model = model.trim();
      if (system.trim()) params.system = system.trim();
      const r = await api.chat(gateway.id, params);
      setTurns([...history, { role: 'assistant', content: r.text ?? '', meta: r }]);
      requestAnimationFrame(() => logRef.current?.scrollTo?.({ top: logRef.current.scrollHeight }));
    } catch (err) {
      setError(err);
      reportGone(err);
      // Give the prompt back so it can be retried.
      setTurns(turns);
      setInput(text);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Chat" icon={<IconChat size={18} />} id="chat" actions={turns.length ? <Button size="sm" variant="ghost" disabled={busy} onClick={() => { setTurns([]); setError(null); }}>Clear</Button> : undefined}>
          <div class="chat-log" ref={logRef} aria-live="polite" data-testid="chat-log">
            {turns.length === 0 && <p class="muted small">Send a message to try this gateway. {connected ? '' : 'Connect it first.'}</p>}
            {turns.map((t) => (
              <div class={`chat-msg chat-msg--${t.role}`}>
                <div class="chat-msg__bubble">{t.content}</div>
                {t.meta && (
                  <div class="chat-msg__meta" data-testid="chat-meta">
                    {t.meta.model && <span>{t.meta.model}</span>}
                    {t.meta.usage && <span>{t.meta.usage.inputTokens ?? 0} in · {t.meta.usage.outputTokens ?? 0} out tokens</span>}
                    {t.meta.latencyMs != null && <span>{ms(t.meta.latencyMs)}</span>}
                    {t.meta.finishReason && t.meta.finishReason !== 'stop' && <span>finish: {t.meta.finishReason}</span>}
                  </div>
                )}
              </div>
            ))}
            {busy && <div class="chat-msg chat-msg--assistant"><div class="chat-msg__bubble chat-msg__typing" aria-label="Waiting for the reply"><span /><span /><span /></div></div>}
          </div>
          {error ? <ProblemAlert error={error} compact /> : null}
          <form class="chat-form" onSubmit={send} data-testid="chat-form">
            <textarea
              name="message" rows={2} value={input} placeholder={connected ? 'Ask something…' : 'Connect the gateway to chat'} aria-label="Message"
              disabled={busy || !connected}
              onInput={(e) => setInput(e.currentTarget.value)}
              onKeyDown={(e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); (e.currentTarget.form as HTMLFormElement).requestSubmit(); } }}
            />
            <Button type="submit" variant="primary" icon={<IconSend size={16} />} loading={busy} loadingText="Thinking…" disabled={!connected || !input.trim()}>Send</Button>
          </form>
          <details class="advanced">
            <summary>Options</summary>
            <div class="grid-2">
              <label class="mini-field"><span>Model</span><input value={model} placeholder={defaultModel || 'provider default'} onInput={(e) => setModel(e.currentTarget.value)} /></label>
              <label class="mini-field"><span>System prompt</span><input value={system} placeholder="You are a helpful assistant." onInput={(e) => setSystem(e.currentTarget.value)} /></label>
            </div>
          </details>
    </Card>
  );
}
