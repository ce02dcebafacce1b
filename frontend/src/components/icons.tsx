// Inline SVG icons (stroke-based, currentColor), so no icon font or sprite loads.
import type { ComponentChildren } from 'preact';
import type { GatewayType } from '../lib/types';

function Svg({ children, size = 18, label }: { children: ComponentChildren; size?: number; label?: string }) {
  return (
    <svg
      class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor"
      stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"
      {...(label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': 'true' })}
    >
      {children}
    </svg>
  );
}

type P = { size?: number; label?: string };

export const IconTelegram = (p: P) => (
  <Svg {...p}><path d="M21.5 4.5 2.8 11.6c-.9.4-.9 1.6.1 1.9l4.6 1.4 1.8 5.5c.2.7 1.1.9 1.6.4l2.6-2.5 4.7 3.5c.6.4 1.4.1 1.6-.6L22.8 5.8c.2-.9-.6-1.6-1.3-1.3Z" /><path d="m7.6 14.8 10.1-7.2-7.8 8.6" /></Svg>
);
export const IconAI = (p: P) => (
  <Svg {...p}><path d="M12 3v3M12 18v3M3 12h3M18 12h3" /><path d="M12 7.5 13.4 10.6 16.5 12 13.4 13.4 12 16.5 10.6 13.4 7.5 12 10.6 10.6Z" /><path d="m5.6 5.6 1.5 1.5M16.9 16.9l1.5 1.5M5.6 18.4l1.5-1.5M16.9 7.1l1.5-1.5" /></Svg>
);
export const IconWebhook = (p: P) => (
  <Svg {...p}><path d="M9.5 8.2a3.5 3.5 0 1 1 5.3 3l2.7 4.8" /><path d="M6.3 19.5a3.5 3.5 0 0 1-.9-6.6l2.8-1.2" /><circle cx="17.5" cy="16.5" r="1.6" /><path d="M17.8 19.7H9.4" /><circle cx="6.6" cy="16.1" r="1.6" /><circle cx="12" cy="7.5" r="1.6" /></Svg>
);
export const IconPlus = (p: P) => <Svg {...p}><path d="M12 5v14M5 12h14" /></Svg>;
export const IconRefresh = (p: P) => <Svg {...p}><path d="M20 11a8 8 0 0 0-14.6-4.5L4 8" /><path d="M4 4v4h4" /><path d="M4 13a8 8 0 0 0 14.6 4.5L20 16" /><path d="M20 20v-4h-4" /></Svg>;
export const IconChevronRight = (p: P) => <Svg {...p}><path d="m9 6 6 6-6 6" /></Svg>;
export const IconChevronLeft = (p: P) => <Svg {...p}><path d="m15 6-6 6 6 6" /></Svg>;
export const IconTrash = (p: P) => <Svg {...p}><path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3" /></Svg>;
export const IconPlug = (p: P) => <Svg {...p}><path d="M9 2v6M15 2v6M6 8h12v3a6 6 0 0 1-12 0V8ZM12 17v5" /></Svg>;
export const IconUnplug = (p: P) => <Svg {...p}><path d="M9 2v6M15 2v6M6 8h12v3a6 6 0 0 1-1.1 3.5M12 17v5M3 3l18 18" /></Svg>;
export const IconPulse = (p: P) => <Svg {...p}><path d="M3 12h4l2-6 4 12 2-6h6" /></Svg>;
export const IconEye = (p: P) => <Svg {...p}><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12Z" /><circle cx="12" cy="12" r="3" /></Svg>;
export const IconEyeOff = (p: P) => <Svg {...p}><path d="M10.6 5.1A10.4 10.4 0 0 1 12 5c6.4 0 10 7 10 7a17 17 0 0 1-3 3.9M6.6 6.6C3.7 8.4 2 12 2 12s3.6 7 10 7c1.6 0 3-.4 4.3-1M3 3l18 18M9.9 9.9a3 3 0 0 0 4.2 4.2" /></Svg>;
export const IconSend = (p: P) => <Svg {...p}><path d="M22 2 11 13M22 2l-7 20-4-9-9-4 20-7Z" /></Svg>;
export const IconAlert = (p: P) => <Svg {...p}><path d="M12 9v4M12 17h.01" /><path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z" /></Svg>;
export const IconCheck = (p: P) => <Svg {...p}><path d="m5 12 5 5L20 7" /></Svg>;
export const IconX = (p: P) => <Svg {...p}><path d="M6 6l12 12M18 6 6 18" /></Svg>;
export const IconLogout = (p: P) => <Svg {...p}><path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9" /></Svg>;
export const IconBuilding = (p: P) => <Svg {...p}><path d="M4 21V5a2 2 0 0 1 2-2h8a2 2 0 0 1 2 2v16M16 9h2a2 2 0 0 1 2 2v10M2 21h20M8 7h4M8 11h4M8 15h4" /></Svg>;
export const IconUser = (p: P) => <Svg {...p}><circle cx="12" cy="8" r="4" /><path d="M4 21a8 8 0 0 1 16 0" /></Svg>;
export const IconHistory = (p: P) => <Svg {...p}><path d="M3 12a9 9 0 1 0 3-6.7L3 8" /><path d="M3 3v5h5M12 7v5l3 3" /></Svg>;
export const IconKey = (p: P) => <Svg {...p}><circle cx="7.5" cy="15.5" r="4.5" /><path d="m10.7 12.3 9.8-9.8M17 6l3 3M15 8l2 2" /></Svg>;
export const IconSettings = (p: P) => <Svg {...p}><path d="M4 6h10M18 6h2M4 12h4M12 12h8M4 18h12M20 18h0" /><circle cx="16" cy="6" r="2" /><circle cx="10" cy="12" r="2" /><circle cx="18" cy="18" r="2" /></Svg>;
export const IconInfo = (p: P) => <Svg {...p}><circle cx="12" cy="12" r="9" /><path d="M12 11v5M12 8h.01" /></Svg>;
export const IconInbox = (p: P) => <Svg {...p}><path d="M3 13h5l1.5 3h5L16 13h5" /><path d="M5.5 5.2 3 13v5a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2v-5l-2.5-7.8A2 2 0 0 0 16.6 4H7.4a2 2 0 0 0-1.9 1.2Z" /></Svg>;
export const IconRoute = (p: P) => <Svg {...p}><circle cx="6" cy="19" r="2.5" /><circle cx="18" cy="5" r="2.5" /><path d="M8.5 19H17a3.5 3.5 0 0 0 0-7H7a3.5 3.5 0 0 1 0-7h8.5" /></Svg>;
export const IconChat = (p: P) => <Svg {...p}><path d="M21 12a8 8 0 0 1-11.8 7L3 21l2-6A8 8 0 1 1 21 12Z" /></Svg>;

export function TypeIcon({ type, size = 20 }: { type: GatewayType | string; size?: number }) {
  const Icon = type === 'TELEGRAM_BOT' ? IconTelegram : type === 'AI' ? IconAI : IconWebhook;
  return (
    <span class={`type-icon type-icon--${String(type).toLowerCase()}`}>
      <Icon size={size} />
    </span>
  );
}

export function Logo() {
  return (
    <svg class="logo" width="28" height="28" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <path d="M9 24V13.5L16 8l7 5.5V24" fill="none" stroke="#fff" stroke-width="2.4" stroke-linejoin="round" />
      <path d="M13.5 24v-5.5a2.5 2.5 0 0 1 5 0V24" fill="none" stroke="#fff" stroke-width="2.4" />
    </svg>
  );
}
