'use client';
// Loads the console configuration once, keeps the replica being inspected
// (the `replica` query parameter, else the first configured one), and walks
// the epoch chain from the pinned genesis in this browser (lib/epoch-walk.ts):
// pages render once the first walk is done, and the walk goes on every few
// seconds from the newest verified epoch. Pages read all of it through
// useConsole() and verify each item against the membership of its epoch.

import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from 'react';
import { type ConsoleConfig, loadConfig } from '../lib/config';
import { type EpochChain, newestMembership, pinnedChain } from '../lib/epoch-chain';
import { describeWalk, walkEpochs, type WalkResult } from '../lib/epoch-walk';
import { consoleLimits } from '../lib/limits';
import { getJson } from '../lib/replica-api';

interface ConsoleState {
  config: ConsoleConfig;
  /** Base URL of the replica being inspected. */
  replica: string;
  selectReplica: (url: string) => void;
  /** The verified epoch chain; a new object only when it grew, so pages re-verify only then. */
  chain: EpochChain;
  /** The last walk: each replica's answer and why any was refused. */
  walk: WalkResult;
}

const Context = createContext<ConsoleState | undefined>(undefined);

/** The inspected replica first, then the others: each may prove links the others hide. */
function walkOrder(config: ConsoleConfig, replica: string): string[] {
  return [replica, ...config.replicas.map((r) => r.url).filter((u) => u !== replica)];
}

export function ConsoleProvider({ children }: { children: ReactNode }) {
  const [config, setConfig] = useState<ConsoleConfig | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [replica, setReplica] = useState<string | undefined>();
  const [chain, setChain] = useState<EpochChain | undefined>();
  const [walk, setWalk] = useState<WalkResult | undefined>();
  const chainRef = useRef<EpochChain | undefined>(undefined);

  useEffect(() => {
    loadConfig()
      .then((c) => {
        setConfig(c);
        const wanted = new URLSearchParams(window.location.search).get('replica');
        setReplica(wanted ?? c.replicas[0]?.url);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  useEffect(() => {
    if (!config || !replica) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const step = async () => {
      const start = chainRef.current ?? pinnedChain(config.membership);
      const result = await walkEpochs(start, walkOrder(config, replica), getJson);
      if (stop) return;
      if (chainRef.current === undefined || result.chain.links.length !== chainRef.current.links.length) {
        chainRef.current = result.chain;
        setChain(result.chain);
      }
      setWalk(result);
      timer = setTimeout(() => void step(), consoleLimits.epochRewalkIntervalMs);
    };
    void step();
    return () => {
      stop = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [config, replica]);

  if (error) return <p className="error">Cannot start: {error}</p>;
  if (!config || !replica) return <p>Loading configuration…</p>;
  if (!chain || !walk) return <p>Walking the epoch chain from the pinned genesis…</p>;
  const selectReplica = (url: string) => {
    setReplica(url);
    const params = new URLSearchParams(window.location.search);
    params.set('replica', url);
    window.history.replaceState(null, '', `${window.location.pathname}?${params}`);
  };
  return (
    <Context.Provider value={{ config, replica, selectReplica, chain, walk }}>
      <ReplicaPicker />
      {children}
    </Context.Provider>
  );
}

export function useConsole(): ConsoleState {
  const state = useContext(Context);
  if (!state) throw new Error('useConsole outside ConsoleProvider');
  return state;
}

function ReplicaPicker() {
  const { config, replica, selectReplica, chain, walk } = useConsole();
  return (
    <div className="picker">
      <label>
        Inspecting replica{' '}
        <select value={replica} onChange={(e) => selectReplica(e.target.value)} data-testid="replica-picker">
          {config.replicas.map((r) => (
            <option key={r.url} value={r.url}>
              {r.id} ({r.organization}) {r.url}
            </option>
          ))}
        </select>
      </label>{' '}
      <span className="muted">
        genesis pinned from {config.source === 'server' ? 'the console configuration' : 'an uploaded file'}: chain {config.membership.chainId}, epoch{' '}
        {config.membership.epoch.toString()}.{' '}
        <span data-testid="chain-status" data-epoch={newestMembership(chain).epoch.toString()}>
          {describeWalk({ ...walk, chain })}
        </span>
      </span>
    </div>
  );
}
