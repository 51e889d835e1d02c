import type { ReactNode } from 'react';
import Link from 'next/link';
import { ConsoleProvider } from '../components/console-context';
import './console.css';

export const metadata = { title: 'VCR audit console' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header>
          <strong>VCR audit console</strong>
          <nav>
            <Link href="/">Cluster</Link>
            <Link href="/activity">Activity</Link>
            <Link href="/blocks">Blocks</Link>
            <Link href="/votes">Vote history</Link>
            <Link href="/view-changes">View changes</Link>
            <Link href="/epochs">Membership</Link>
            <Link href="/evidence">Evidence</Link>
            <Link href="/registry">Registry</Link>
            <Link href="/pending">Pending</Link>
            <Link href="/genesis">Genesis</Link>
          </nav>
        </header>
        <main>
          <ConsoleProvider>{children}</ConsoleProvider>
        </main>
      </body>
    </html>
  );
}
