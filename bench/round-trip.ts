// npm run bench:roundtrip: what one request and answer between two processes costs on this machine, the
// unit every statement the platform sends pays. Measured one after the other, each for the same number
// of sequential round trips over loopback:
//   - echo: a 1-byte write answered by a Node TCP echo server in a child process (the baseline: the
//     kernel's and the scheduler's share, with almost no work on either side);
//   - pg simple: `SELECT 1` to PostgreSQL (simple query protocol);
//   - pg extended: `SELECT $1::int` with a parameter (the extended protocol, as every statement the
//     platform sends with parameters);
//   - pg unix: the extended statement over PostgreSQL's Unix socket, when it has one.
// For each: wall time per round trip, this process's CPU (user and system) and the peer's CPU (from
// /proc). Progress on stderr; the last line on stdout is one JSON object. DATABASE_URL (default the local
// server's `postgres` database) names the server; nothing is written to it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'round-trips': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write(`npm run bench:roundtrip [-- --quick] [-- --round-trips N]
  --quick           2,000 round trips per phase (default 20,000)
  --round-trips N   round trips per phase
DATABASE_URL       PostgreSQL to ask (default postgres://postgres@127.0.0.1:5432/postgres); read-only\n`);
  process.exit(0);
}
const ROUND_TRIPS = Number(args['round-trips'] ?? (args.quick ? 2_000 : 20_000));
if (!Number.isInteger(ROUND_TRIPS) || ROUND_TRIPS < 100) {
  process.stderr.write('--round-trips must be an integer of at least 100\n');
  process.exit(2);
}
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const UNIX_SOCKET_DIR = '/var/run/postgresql';
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU milliseconds (user + system) a process has used, from /proc. */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

interface Phase {
  round_trip_us: number;
  node_cpu_us: number;
  node_system_us: number;
  peer_cpu_us: number;
}

async function measure(name: string, peerPid: number, once: (index: number) => Promise<unknown>): Promise<Phase> {
  for (let index = 0; index < Math.min(500, ROUND_TRIPS / 10); index += 1) await once(index); // warm-up
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const peerBefore = processCpuMs(peerPid);
  const step = Math.max(1, Math.floor(ROUND_TRIPS / 4));
  for (let index = 0; index < ROUND_TRIPS; index += 1) {
    await once(index);
    if ((index + 1) % step === 0) process.stderr.write(`  [${name}] ${index + 1}/${ROUND_TRIPS}\n`);
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const peerMs = processCpuMs(peerPid) - peerBefore;
  const phase = {
    round_trip_us: round((wallMs * 1000) / ROUND_TRIPS),
    node_cpu_us: round((cpu.user + cpu.system) / ROUND_TRIPS),
    node_system_us: round(cpu.system / ROUND_TRIPS),
    peer_cpu_us: round((peerMs * 1000) / ROUND_TRIPS),
  };
  process.stderr.write(`${name}: ${JSON.stringify(phase)}\n`);
  return phase;
}

const round = (value: number) => Math.round(value * 10) / 10;

/** A Node TCP echo server in a child process; resolves with its pid and a connected socket. */
async function startEcho(): Promise<{ pid: number; socket: Socket; stop: () => void }> {
  const child = spawn(
    process.execPath,
    ['-e', "const s=require('net').createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { pid: child.pid!, socket, stop: () => (socket.destroy(), child.kill()) };
}

async function pgPhase(name: string, connectionString: string, extended: boolean): Promise<Phase> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    return await measure(name, pid, (index) => (extended ? client.query('SELECT $1::int', [index]) : client.query('SELECT 1')));
  } finally {
    await client.end();
  }
}

process.stderr.write(`bench:roundtrip: ${ROUND_TRIPS} sequential round trips per phase; ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} load average\n`);

const echo = await startEcho();
let echoPhase: Phase;
try {
  const byte = Buffer.from([1]);
  echoPhase = await measure('echo', echo.pid, () => new Promise((resolve) => (echo.socket.once('data', resolve), echo.socket.write(byte))));
} finally {
  echo.stop();
}
const simple = await pgPhase('pg simple', DATABASE_URL, false);
const extended = await pgPhase('pg extended', DATABASE_URL, true);
let unix: Phase | null = null;
if (existsSync(`${UNIX_SOCKET_DIR}/.s.PGSQL.5432`)) {
  const url = new URL(DATABASE_URL);
  url.hostname = 'localhost';
  url.port = '';
  url.searchParams.set('host', UNIX_SOCKET_DIR);
  unix = await pgPhase('pg unix', url.toString(), true);
}
const cpuOf = (phase: Phase) => phase.node_cpu_us + phase.peer_cpu_us;
console.log(
  JSON.stringify({
    round_trips: ROUND_TRIPS,
    echo: echoPhase,
    pg_simple: simple,
    pg_extended: extended,
    pg_unix: unix,
    // What a parameterised statement costs both processes, against the bare echo's.
    pg_extended_cpu_us: round(cpuOf(extended)),
    echo_cpu_us: round(cpuOf(echoPhase)),
    pg_vs_echo_cpu: round(cpuOf(extended) / cpuOf(echoPhase)),
    pg_vs_echo_wall: round(extended.round_trip_us / echoPhase.round_trip_us),
    cores: (await import('node:os')).availableParallelism(),
  }),
);
