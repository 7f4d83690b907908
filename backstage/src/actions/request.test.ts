// The action on Backstage's own mock action context: unsigned to `vend serve` on loopback,
// signed with SigV4 to a deployed API (the signature re-made from what was sent matches, so
// the body sent is the body signed), and a refusal failing the step with every field named.

import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestTenantAction, regionOf } from './request';

const body = {
  requestId: 'task-1',
  tenantId: 'checkout',
  environment: 'prod',
  owners: ['arn:aws:iam::123456789012:role/payments-leads'],
  tags: { CostCenter: 'cc-2040' },
};

const accepted = {
  tenantId: 'checkout',
  requestId: 'task-1',
  executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:tenant-vending-prod:portal-task-1',
  attempt: 1,
};

const credentials = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });

describe('tenant-vending:request', () => {
  it('posts the request unsigned to vend serve on loopback and outputs the execution', async () => {
    const seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', chunk => (text += chunk));
      req.on('end', () => {
        Object.assign(seen, { method: req.method, url: req.url, headers: req.headers, body: text });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify(accepted));
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const action = createRequestTenantAction({ endpoint: `http://127.0.0.1:${port}` });
      const ctx = createMockActionContext({ input: { body } });
      await action.handler(ctx as any);
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/tenants');
      expect(seen.headers?.authorization).toBeUndefined();
      expect(JSON.parse(seen.body ?? '')).toEqual(body);
      expect(ctx.output).toHaveBeenCalledWith('tenantId', 'checkout');
      expect(ctx.output).toHaveBeenCalledWith('executionArn', accepted.executionArn);
    } finally {
      server.close();
    }
  });

  it('signs a request to a deployed API with SigV4 for execute-api in its region', async () => {
    let sent: { url: string; init: RequestInit } | undefined;
    const fakeFetch = (async (url: URL, init: RequestInit) => {
      sent = { url: url.toString(), init };
      return new Response(JSON.stringify(accepted), { status: 202 });
    }) as unknown as typeof fetch;
    const endpoint = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com';
    const action = createRequestTenantAction({ endpoint, credentials, fetch: fakeFetch });
    const ctx = createMockActionContext({ input: { body } });
    await action.handler(ctx as any);

    expect(sent?.url).toBe(`${endpoint}/tenants`);
    const headers = sent?.init.headers as Record<string, string>;
    const date = headers['x-amz-date'];
    expect(headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${date.slice(0, 8)}/eu-west-1/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`,
      ),
    );
    // What was sent, signed again at the same moment, gives the same signature.
    const unsigned = { ...headers };
    delete unsigned.authorization;
    delete unsigned['x-amz-date'];
    const again = await new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: Sha256 }).sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
        path: '/tenants',
        headers: unsigned,
        body: sent?.init.body as string,
      },
      {
        signingDate: new Date(
          `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
        ),
      },
    );
    expect(again.headers.authorization).toBe(headers.authorization);
    expect(JSON.parse(sent?.init.body as string)).toEqual(body);
  });

  it('fails the step with the API message and every bad field', async () => {
    const fakeFetch = (async () =>
      new Response(
        JSON.stringify({
          message: 'the request is invalid',
          errors: [
            { field: 'tenantId', reason: "'Bad' is not a DNS-1123 label" },
            { field: 'owners', reason: 'must name at least one principal' },
          ],
        }),
        { status: 400 },
      )) as unknown as typeof fetch;
    const action = createRequestTenantAction({ endpoint: 'http://127.0.0.1:9', fetch: fakeFetch });
    const ctx = createMockActionContext({ input: { body } });
    await expect(action.handler(ctx as any)).rejects.toThrow(
      /refused the request \(400\): the request is invalid\n  tenantId: 'Bad' is not a DNS-1123 label\n  owners: must name/,
    );
    expect(ctx.output).not.toHaveBeenCalled();
  });

  it('needs a region it cannot read from a custom domain', async () => {
    const action = createRequestTenantAction({
      endpoint: 'https://vending.example.com',
      credentials,
      fetch: (async () => new Response('{}', { status: 202 })) as unknown as typeof fetch,
    });
    await expect(action.handler(createMockActionContext({ input: { body } }) as any)).rejects.toThrow(
      /cannot tell the region of vending.example.com/,
    );
    expect(regionOf('abc123.execute-api.us-east-2.amazonaws.com')).toBe('us-east-2');
    expect(regionOf('abc123.execute-api.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
  });
});
