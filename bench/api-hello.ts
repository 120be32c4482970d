// Child process of bench/api.ts: the baseline, a plain Fastify hello-world on a loopback port, with
// logging off like the API server under load. Tells its URL to the parent over IPC; stops on SIGTERM.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ type: 'listening', url });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
