// Telegram: the webhook's state (getWebhookInfo), "Send a message" with a
// button keyboard, then edit or delete it (sendMessage, editMessageText,
// deleteMessage), and a broadcast through the messages API.
import { useEffect } from 'preact/hooks';
import { useApp } from '../../app-context';
import { ApiError, unwrapResult } from '../../lib/api';
import { absoluteTime, relativeTime } from '../../lib/format';
import { useFetch } from '../../lib/use-fetch';
import type { Gateway, WebhookInfo } from '../../lib/types';
import { IconTelegram } from '../icons';
import { Card, Facts, ProblemAlert, Skeleton } from '../ui';
import { Broadcast } from './Broadcast';
import { useReportGone } from './gateway-scope';
import { SendMessage } from './SendMessage';
import './telegram.css';

export function TelegramPanel({ gateway, refreshKey }: { gateway: Gateway; refreshKey: number }) {
  const { api } = useApp();
  const webhook = useFetch((signal) => api.action(gateway.id, 'getWebhookInfo', {}, signal).then((d) => unwrapResult<WebhookInfo>(d, 'url')), [api, gateway.id, gateway.status, refreshKey]);
  const info = webhook.error ? null : webhook.data;
  const infoErr = webhook.error;
  const reportGone = useReportGone();
  useEffect(() => reportGone(infoErr), [infoErr]);

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

      <SendMessage gateway={gateway} />
      <Broadcast gateway={gateway} />
    </Card>
  );
}
