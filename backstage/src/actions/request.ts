// The scaffolder action `tenant-vending:request`: posts a tenant request to the portal API
// (`POST /tenants`), signed with Signature Version 4 for the service `execute-api`, since the
// API uses IAM authorization and Backstage's stock `http:backstage:request` action cannot sign.
// The credentials are the Backstage backend's own (the AWS SDK's default provider chain: its
// role on EKS or ECS, a profile, the environment), which need `execute-api:Invoke` on the
// route. A loopback endpoint (`vend serve`) gets the request unsigned, as `vend` sends it.
//
// The API answers 202 with the execution (also for a request id it has already: Backstage's
// retries start nothing new); anything else fails the step with the API's message and every
// bad field it named.

import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** How the action reaches the API. */
export interface RequestTenantOptions {
  /** The API's base URL: `https://<id>.execute-api.<region>.amazonaws.com`, or `vend serve`'s. */
  endpoint: string;
  /** The API's region; read from an execute-api host name when absent. */
  region?: string;
  /** Who signs; the SDK's default provider chain when absent. */
  credentials?: AwsCredentialIdentityProvider;
  /** The fetch to send with (tests pass their own). */
  fetch?: typeof fetch;
}

/** What the API answers to an accepted request. */
interface Accepted {
  tenantId: string;
  requestId: string;
  executionArn: string;
  attempt?: number;
  message?: string;
}

/** The region of an `<id>.execute-api.<region>.amazonaws.com` host, if it is one. */
export function regionOf(host: string): string | undefined {
  const m = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host);
  return m?.[1];
}

/** Whether requests to `host` go unsigned: `vend serve` on this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The headers of the request, signed unless the endpoint is on loopback. */
export async function signedHeaders(
  url: URL,
  body: string,
  options: RequestTenantOptions,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    host: url.host,
  };
  if (isLoopback(url.hostname)) {
    return headers;
  }
  const region = options.region ?? regionOf(url.hostname);
  if (!region) {
    throw new Error(
      `cannot tell the region of ${url.host}: set tenantVending.region in the app config`,
    );
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: Sha256,
  });
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    query[k] = v;
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers,
    body,
  });
  return signed.headers as Record<string, string>;
}

/** The failure of a refused request: the API's message and every bad field it named. */
function refusal(status: number, answer: unknown): Error {
  const body = (answer ?? {}) as { message?: string; errors?: { field: string; reason: string }[] };
  const fields = (body.errors ?? []).map(e => `\n  ${e.field}: ${e.reason}`).join('');
  return new Error(`the portal API refused the request (${status}): ${body.message ?? 'no message'}${fields}`);
}

/** The action, bound to an API. */
export function createRequestTenantAction(options: RequestTenantOptions) {
  return createTemplateAction({
    id: 'tenant-vending:request',
    description:
      'Requests a tenant from the tenant-vending portal API (POST /tenants), signed with SigV4 for its IAM authorization.',
    schema: {
      input: {
        body: z =>
          z
            .record(z.unknown())
            .describe('The tenant request (the API\'s TenantRequest): requestId, tenantId, environment, owners, ...'),
      },
      output: {
        tenantId: z => z.string().describe('The tenant.'),
        requestId: z => z.string().describe('The request.'),
        executionArn: z => z.string().describe('The Step Functions execution vending it.'),
      },
    },
    async handler(ctx) {
      const url = new URL('/tenants', options.endpoint);
      const body = JSON.stringify(ctx.input.body);
      const headers = await signedHeaders(url, body, options);
      const send = options.fetch ?? fetch;
      ctx.logger.info(`posting the request for tenant ${String(ctx.input.body.tenantId)} to ${url.origin}`);
      const reply = await send(url, { method: 'POST', headers, body, signal: ctx.signal });
      const text = await reply.text();
      let answer: unknown;
      try {
        answer = text ? JSON.parse(text) : undefined;
      } catch {
        answer = { message: text };
      }
      if (reply.status !== 202) {
        throw refusal(reply.status, answer);
      }
      const accepted = answer as Accepted;
      if (accepted.message) {
        ctx.logger.info(accepted.message);
      }
      ctx.logger.info(`tenant ${accepted.tenantId} is being vended by ${accepted.executionArn}`);
      ctx.output('tenantId', accepted.tenantId);
      ctx.output('requestId', accepted.requestId);
      ctx.output('executionArn', accepted.executionArn);
    },
  });
}
