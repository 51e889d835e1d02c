// Keepalive for one WebSocket: ping every pingIntervalMs, and terminate the
// socket when no pong has come for pongTimeoutMs (a peer that vanished
// without a FIN would otherwise hold the link, and its queue slot, forever).
// ws answers pings with pongs by itself.

import type { WebSocket } from 'ws';
import type { TransportTiming } from './limits';

/** Starts pinging `ws`; returns the function that stops it (also stopped when the socket closes). */
export function startKeepalive(ws: WebSocket, timing: Pick<TransportTiming, 'pingIntervalMs' | 'pongTimeoutMs'>): () => void {
  let lastPongAtMs = performance.now();
  const onPong = () => {
    lastPongAtMs = performance.now();
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (performance.now() - lastPongAtMs > timing.pongTimeoutMs) {
      ws.terminate();
      return;
    }
    if (ws.readyState === ws.OPEN) ws.ping();
  }, timing.pingIntervalMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    ws.off('pong', onPong);
  };
  ws.once('close', stop);
  return stop;
}
