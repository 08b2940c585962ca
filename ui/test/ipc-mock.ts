// The IPC mock the UI tests share: records every call and answers from
// `replies`, with Tauri events mocked so tests can `emit`.
import { mockIPC } from "@tauri-apps/api/mocks";

export type Call = { cmd: string; args: Record<string, unknown> };
export type Replies = Record<string, (args: Record<string, unknown>) => unknown>;

export function mockBackend(replies: Replies): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const r = replies[cmd];
      return r ? r(a) : null;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export const tick = () => new Promise((r) => setTimeout(r, 0));
