// FairIntake without sockets: turns are run by hand, so order and bounds are exact.
import { describe, expect, it } from 'vitest';
import { FairIntake, type FairIntakeOptions } from './intake-queue';

function setup(overrides: Partial<FairIntakeOptions> = {}) {
  const turns: Array<() => void> = [];
  const delivered: string[] = [];
  const dropped = new Map<string, number>();
  const errors: string[] = [];
  const intake = new FairIntake({
    peers: ['a', 'b', 'c'],
    framesPerPeerMax: 100,
    bytesPerPeerMax: 1_000_000,
    framesPerTurnMax: 10,
    deliver: (peer, data) => delivered.push(`${peer}:${data.toString()}`),
    onDeliverError: (peer, error) => errors.push(`${peer}:${String(error)}`),
    onDropped: (peer) => dropped.set(peer, (dropped.get(peer) ?? 0) + 1),
    schedule: (turn) => turns.push(turn),
    ...overrides,
  });
  const runTurn = () => {
    const turn = turns.shift();
    if (turn === undefined) throw new Error('no turn scheduled');
    turn();
  };
  return { intake, turns, delivered, dropped, errors, runTurn };
}

const frame = (text: string) => Buffer.from(text);

describe('FairIntake', () => {
  it('takes one frame per non-empty peer queue per round, in peer order', () => {
    const t = setup();
    for (let i = 0; i < 5; i++) t.intake.push('a', frame(`${i}`));
    t.intake.push('b', frame('0'));
    t.intake.push('c', frame('0'));
    t.intake.push('c', frame('1'));
    t.runTurn();
    expect(t.delivered).toEqual(['a:0', 'b:0', 'c:0', 'a:1', 'c:1', 'a:2', 'a:3', 'a:4']);
  });

  it('a flooding peer does not delay a quiet peer past the first round', () => {
    const t = setup({ framesPerPeerMax: 100 });
    for (let i = 0; i < 100; i++) t.intake.push('a', frame(`${i}`));
    t.intake.push('b', frame('x'));
    t.runTurn();
    expect(t.delivered.indexOf('b:x')).toBe(1);
  });

  it('delivers at most framesPerTurnMax per turn and schedules one more turn while frames remain', () => {
    const t = setup({ framesPerTurnMax: 10 });
    for (let i = 0; i < 25; i++) t.intake.push('a', frame(`${i}`));
    expect(t.turns).toHaveLength(1);
    t.runTurn();
    expect(t.delivered).toHaveLength(10);
    expect(t.turns).toHaveLength(1);
    t.runTurn();
    t.runTurn();
    expect(t.delivered).toHaveLength(25);
    expect(t.turns).toHaveLength(0);
  });

  it('round-robin resumes where the last turn stopped, so the budget does not favour the first peer', () => {
    const t = setup({ framesPerTurnMax: 1 });
    for (const peer of ['a', 'b', 'c']) for (let i = 0; i < 2; i++) t.intake.push(peer, frame(`${i}`));
    for (let i = 0; i < 6; i++) t.runTurn();
    expect(t.delivered).toEqual(['a:0', 'b:0', 'c:0', 'a:1', 'b:1', 'c:1']);
  });

  it('drops and counts frames past the per-peer frame bound, and only for that peer', () => {
    const t = setup({ framesPerPeerMax: 3 });
    for (let i = 0; i < 5; i++) t.intake.push('a', frame(`${i}`));
    expect(t.intake.push('b', frame('0'))).toBe(true);
    expect(t.dropped.get('a')).toBe(2);
    expect(t.dropped.get('b')).toBeUndefined();
    expect(t.intake.depth('a')).toBe(3);
  });

  it('drops and counts frames past the per-peer byte bound', () => {
    const t = setup({ bytesPerPeerMax: 10 });
    expect(t.intake.push('a', frame('12345678'))).toBe(true);
    expect(t.intake.push('a', frame('123'))).toBe(false);
    expect(t.intake.push('a', frame('12'))).toBe(true);
    expect(t.dropped.get('a')).toBe(1);
    t.runTurn();
    // Room again once the queue drained.
    expect(t.intake.push('a', frame('1234567890'))).toBe(true);
  });

  it('a throwing deliver is reported and the loop goes on', () => {
    const delivered: string[] = [];
    const t = setup({
      deliver: (peer, data) => {
        if (data.toString() === 'boom') throw new Error('handler failed');
        delivered.push(`${peer}:${data.toString()}`);
      },
    });
    t.intake.push('a', frame('boom'));
    t.intake.push('a', frame('after'));
    t.runTurn();
    expect(t.errors).toEqual(['a:Error: handler failed']);
    expect(delivered).toEqual(['a:after']);
  });

  it('after close, queued frames are gone and pushes are ignored', () => {
    const t = setup();
    t.intake.push('a', frame('0'));
    t.intake.close();
    expect(t.intake.push('a', frame('1'))).toBe(false);
    t.runTurn();
    expect(t.delivered).toEqual([]);
  });

  it('a push from a replica outside the membership is a bug', () => {
    const t = setup();
    expect(() => t.intake.push('stranger', frame('0'))).toThrow(/not a peer/);
  });
});
