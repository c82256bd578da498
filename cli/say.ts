// A line for the person at the terminal (stdout; logs go through pino).
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
