import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse, type RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * Follows the requests a connected transport has received and not yet answered, so a server
 * whose client stopped sending (closed its end of stdin, as `… | orch mcp` does) can still
 * answer every call it was given before it stops. Wraps the callbacks the server installed.
 */
export function trackPendingRequests(transport: Transport): { idle(): Promise<void> } {
  const pending = new Set<RequestId>();
  let onIdle: (() => void) | undefined;
  const receive = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message)) pending.add(message.id);
    receive?.(message, extra);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message, options) => {
    try {
      return await send(message, options);
    } finally {
      if ((isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) && message.id !== undefined) {
        pending.delete(message.id);
        if (pending.size === 0) onIdle?.();
      }
    }
  };
  return {
    idle: () =>
      pending.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onIdle = resolve;
          }),
  };
}
