import { createServer } from "node:net";

/**
 * Asks the kernel for a free loopback port. There is a short window in which another process
 * could take it; the caller notices because the server it starts then fails to listen.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}
