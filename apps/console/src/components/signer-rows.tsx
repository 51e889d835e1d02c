// One table row per signature of a quorum (a commit certificate, an epoch
// link's old or new quorum): the replica, its organization, the signature
// and that signature's own verdict.

import { short, Verdict } from './verdict';

export interface SignerRow {
  replicaId: string;
  organization: string;
  /** Hex. */
  signature: string;
  valid: boolean;
  reason?: string | undefined;
}

/** `shorten`: show the signature abbreviated (the full hex stays in the title). */
export function SignerRows({ signers, shorten = false }: { signers: readonly SignerRow[]; shorten?: boolean }) {
  return (
    <>
      {signers.map((s) => (
        <tr key={s.replicaId + s.signature}>
          <td>{s.replicaId}</td>
          <td>{s.organization}</td>
          <td className="mono" title={s.signature}>
            {shorten ? short(s.signature, 16) : s.signature}
          </td>
          <td>
            <Verdict ok={s.valid} reason={s.reason} />
          </td>
        </tr>
      ))}
    </>
  );
}
