// A text progress bar on stderr, redrawn in place with a carriage return
// (no dependency). With an unknown total it shows a count and a rate only.
// Redraws are limited to one per 100 ms so a fast stream is not slowed by them.

const barWidth = 30;
const redrawIntervalMs = 100;

export class ProgressBar {
  private readonly startedMs = performance.now();
  private lastDrawMs = 0;
  private done = 0;

  constructor(
    private readonly label: string,
    private total: number | undefined,
    /** Where to draw; undefined draws nothing (--quiet). */
    private readonly out: NodeJS.WritableStream | undefined,
  ) {}

  /** Adds `count` items; raises the total if the stream turned out longer than expected. */
  advance(count: number): void {
    this.done += count;
    if (this.total !== undefined && this.done > this.total) this.total = this.done;
    const now = performance.now();
    if (now - this.lastDrawMs >= redrawIntervalMs) {
      this.lastDrawMs = now;
      this.draw();
    }
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    this.draw();
    this.out?.write('\n');
  }

  private draw(): void {
    if (this.out === undefined) return;
    const seconds = Math.max((performance.now() - this.startedMs) / 1000, 1e-3);
    const rate = Math.round(this.done / seconds);
    let bar = '';
    if (this.total !== undefined && this.total > 0) {
      const filled = Math.min(barWidth, Math.round((this.done / this.total) * barWidth));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${Math.floor((this.done / this.total) * 100)}% `;
    }
    const of = this.total !== undefined ? `/${this.total}` : '';
    this.out.write(`\r${this.label.padEnd(11)} ${bar}${this.done}${of}  ${rate}/s   `);
  }
}
