// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The full-screen terminal session of `connlimit top`: alternate screen, hidden cursor, raw
 * keys (q, Q, Ctrl-C quit), redraw on resize. Whatever ends the process (quit key, signal, an
 * exception), the terminal is handed back as it was: main screen, cursor shown, cooked mode.
 */

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

export interface Screen {
  readonly width: number;
  readonly height: number;
  /** Replaces the screen's content with these lines (already fitted to width and height). */
  draw(lines: readonly string[]): void;
  /** Restores the terminal. Idempotent. */
  close(): void;
}

export function openScreen(
  output: NodeJS.WriteStream,
  input: NodeJS.ReadStream,
  handlers: { onQuit: () => void; onResize: () => void },
): Screen {
  let open = true;
  const onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') handlers.onQuit();
  };
  const onSignal = () => handlers.onQuit();
  const restore = () => close();
  function close() {
    if (!open) return;
    open = false;
    input.off('data', onKey);
    output.off('resize', handlers.onResize);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', restore);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    output.write(LEAVE);
  }

  output.write(ENTER);
  if (input.isTTY) input.setRawMode(true);
  input.on('data', onKey);
  input.resume();
  output.on('resize', handlers.onResize);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Last resort: an exception that ends the process still leaves a usable terminal.
  process.on('exit', restore);

  return {
    get width() {
      return output.columns ?? 80;
    },
    get height() {
      return output.rows ?? 24;
    },
    draw(lines) {
      if (!open) return;
      output.write(HOME + lines.map((l) => l + CLEAR_LINE_END).join('\r\n') + CLEAR_BELOW);
    },
    close,
  };
}
