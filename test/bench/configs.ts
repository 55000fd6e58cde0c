/**
 * Configuration files for the benchmark's proxies, each as text from a few ports and paths: the
 * podgate sidecar (JSON), nginx and haproxy. The reference proxies get one worker each, keep-alive
 * on both legs and no access log, matching one sidecar process on one core.
 */

/** Ports and paths a proxy config needs. */
export interface ProxyConfigOptions {
  /** Port the proxy listens on (0 lets the sidecar pick one). */
  listenPort: number;
  /** Port of the upstream app on 127.0.0.1. */
  upstreamPort: number;
  /** Directory for pid, logs and temp files (nginx). */
  workDir: string;
}

/**
 * The podgate sidecar config: listener and admin on 127.0.0.1 (port 0 picks free ports, which the
 * sidecar prints), the upstream app, and the access log on or off.
 *
 * @example
 * writeFileSync(file, sidecarConfig({ listenPort: 0, upstreamPort: 3000, workDir }, false));
 */
export function sidecarConfig(
  options: ProxyConfigOptions,
  accessLog: boolean,
  extra: Record<string, unknown> = {},
): string {
  const config = {
    listener: { host: "127.0.0.1", port: options.listenPort },
    admin: { host: "127.0.0.1", port: 0 },
    upstream: { url: `http://127.0.0.1:${options.upstreamPort}` },
    log: { level: "info", accessLog },
    ...extra,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * An nginx config: one worker, `proxy_pass` to an upstream block with 64 idle keep-alive
 * connections (HTTP/1.1 and an empty `Connection` header are both needed for upstream keep-alive,
 * https://nginx.org/en/docs/http/ngx_http_upstream_module.html#keepalive), access log off, and
 * every file under `workDir` so it runs as root without touching /etc or /var.
 */
export function nginxConfig(options: ProxyConfigOptions): string {
  const dir = options.workDir;
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-client-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream app {
    server 127.0.0.1:${options.upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${options.listenPort};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * A haproxy config: one thread, HTTP mode, idle server connections shared between client
 * connections (`http-reuse always`), explicit timeouts, no logging.
 */
export function haproxyConfig(options: ProxyConfigOptions): string {
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 65s
  timeout server 65s
  timeout http-keep-alive 65s
  http-reuse always

frontend bench
  bind 127.0.0.1:${options.listenPort}
  default_backend app

backend app
  server app1 127.0.0.1:${options.upstreamPort}
`;
}
