'use client';
// Loads the console configuration once and keeps the replica being inspected
// (the `replica` query parameter, else the first configured one). Pages read
// both through useConsole().

import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { type ConsoleConfig, loadConfig } from '../lib/config';

interface ConsoleState {
  config: ConsoleConfig;
  /** Base URL of the replica being inspected. */
  replica: string;
  selectReplica: (url: string) => void;
}

const Context = createContext<ConsoleState | undefined>(undefined);

export function ConsoleProvider({ children }: { children: ReactNode }) {
  const [config, setConfig] = useState<ConsoleConfig | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [replica, setReplica] = useState<string | undefined>();

  useEffect(() => {
    loadConfig()
      .then((c) => {
        setConfig(c);
        const wanted = new URLSearchParams(window.location.search).get('replica');
        setReplica(wanted ?? c.replicas[0]?.url);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  if (error) return <p className="error">Cannot start: {error}</p>;
  if (!config || !replica) return <p>Loading configuration…</p>;
  const selectReplica = (url: string) => {
    setReplica(url);
    const params = new URLSearchParams(window.location.search);
    params.set('replica', url);
    window.history.replaceState(null, '', `${window.location.pathname}?${params}`);
  };
  return (
    <Context.Provider value={{ config, replica, selectReplica }}>
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
  const { config, replica, selectReplica } = useConsole();
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
        {config.membership.epoch.toString()}
      </span>
    </div>
  );
}
