// Small pieces every wallet page uses: in-app links, status lines, and text helpers.
import { type ReactNode } from 'react';
import { WalletApiError, type HistoryEntry } from './api.ts';
import { Status } from '../../shared/status.tsx';

export const BASE = '/wallet';

export type Navigate = (to: string) => void;

export const messageOf = (error: unknown): string => (error instanceof WalletApiError || error instanceof Error ? error.message : 'Something went wrong.');
export const dateOf = (seconds: number): string => new Date(seconds * 1000).toLocaleString();
export const dayOf = (seconds: number): string => new Date(seconds * 1000).toLocaleDateString();
export const words = (code: string): string => code.replace(/_/g, ' ');
export const TYPE_LABELS: Record<HistoryEntry['type'], string> = { payment: 'Payment', top_up: 'Top-up', refund: 'Refund' };

export function Link(props: { to: string; navigate: Navigate; children: ReactNode; current?: boolean; testId?: string; className?: string }) {
  return (
    <a
      href={props.to}
      className={props.className}
      aria-current={props.current ? 'page' : undefined}
      data-testid={props.testId}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        props.navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

export { Status };
