import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * nginx (Debian's nginx-light) on a free loopback port, serving directories as static files
 * with sendfile: the fastest server the bench can put in front of a client, so a client's
 * own cost shows plainly. Its prefix (config, logs, pid, temp dirs) is under `prefix`.
 */
export interface Nginx {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `locations` maps a URL prefix ending in / to the directory it serves. */
export async function startNginx(prefix: string, locations: Record<string, string>): Promise<Nginx> {
  const port = await freePort();
  fs.mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`;
  const served = Object.entries(locations).map(([path, dir]) => `location ${path} { alias ${dir.endsWith('/') ? dir : `${dir}/`}; }`);
  fs.writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes auto;
daemon off;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')};
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    ${served.join('\n    ')}
  }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGQUIT');
    if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  for (let i = 0; i < 100; i++) {
    if (await listening(port)) return { url, child, stop };
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not listen on ${port}: see ${join(prefix, 'logs', 'error.log')}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
