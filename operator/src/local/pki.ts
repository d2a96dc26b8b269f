import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** File names of the local control plane's key material, all inside its state directory. */
export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error("landlord local needs the openssl command to make the control plane's certificates; install it (apt-get install openssl)", { cause: error });
    }
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function signedCert(dir: string, name: string, subject: string, extensions: string): void {
  openssl(["req", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650", "-out", `${name}.crt`, "-extfile", `${name}.ext`],
    dir,
  );
}

/**
 * A throwaway CA, the API server's serving certificate, client certificates for the admin and the
 * controller manager (group system:masters: this is a single-user development cluster), and the
 * service-account signing key. Regenerated only when missing.
 */
export function ensurePki(dir: string): Pki {
  const pki: Pki = {
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    servingCert: join(dir, "apiserver.crt"),
    servingKey: join(dir, "apiserver.key"),
    adminCert: join(dir, "admin.crt"),
    adminKey: join(dir, "admin.key"),
    controllerManagerCert: join(dir, "controller-manager.crt"),
    controllerManagerKey: join(dir, "controller-manager.key"),
    serviceAccountKey: join(dir, "sa.key"),
    serviceAccountPub: join(dir, "sa.pub"),
  };
  if (Object.values(pki).every((file) => existsSync(file))) return pki;

  openssl(["req", "-x509", ...KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=landlord-local-ca"], dir);
  signedCert(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  );
  const clientExt = "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n";
  signedCert(dir, "admin", "/O=system:masters/CN=landlord-admin", clientExt);
  signedCert(dir, "controller-manager", "/O=system:masters/CN=system:kube-controller-manager", clientExt);

  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(pki.serviceAccountKey, privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
  writeFileSync(pki.serviceAccountPub, publicKey.export({ type: "spki", format: "pem" }));
  return pki;
}

/**
 * The kubelet's client certificate (group system:nodes, user system:node:<name>: what the API
 * server's Node authorizer expects), signed by the existing local CA. Separate from ensurePki so a
 * control plane started without a node gains one without its CA being replaced under it.
 */
export function ensureNodePki(dir: string, nodeName: string): { cert: string; key: string } {
  const files = { cert: join(dir, "kubelet.crt"), key: join(dir, "kubelet.key") };
  if (existsSync(files.cert) && existsSync(files.key)) return files;
  signedCert(dir, "kubelet", `/O=system:nodes/CN=system:node:${nodeName}`, "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
  return files;
}
