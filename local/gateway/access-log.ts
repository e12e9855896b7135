// The stage's access log: one JSON line per request, appended to a file in batches (one write
// per 100 ms or 64 KB), so logging costs the gateway no syscall per request.
import { closeSync, openSync, writeSync } from 'node:fs';

export class AccessLog {
  private readonly fd: number;
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(file: string) {
    this.fd = openSync(file, 'a');
  }

  write(entry: Record<string, unknown>): void {
    const line = `${JSON.stringify(entry)}\n`;
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= 65_536) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    writeSync(this.fd, this.lines.join(''));
    this.lines = [];
    this.bytes = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}
