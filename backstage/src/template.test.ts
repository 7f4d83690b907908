// The software template, offline: it is a valid Template entity (the catalog's envelope and
// Backstage's own v1beta3 validator), its form's schema takes the example and refuses bad
// input naming the field, its choices agree with the example platform config, and its request
// step renders, with Backstage's templating rules, to the body `examples/request-body.json`
// holds (which `tests/backstage.rs` proves the domain, the OpenAPI schema and `vend serve`
// accept). `UPDATE_GOLDEN=1 npx jest` rewrites that file after a deliberate change.

import { entityEnvelopeSchemaValidator } from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import { Validator } from 'jsonschema';
import * as nunjucks from 'nunjucks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const here = path.resolve(__dirname, '..');
const template = parse(fs.readFileSync(path.join(here, 'template.yaml'), 'utf8'));
const parameters = JSON.parse(fs.readFileSync(path.join(here, 'examples/parameters.json'), 'utf8'));
/** The task id the example renders with (the scaffolder gives each task a UUID). */
const TASK_ID = '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

/** The form's pages as one schema, as the scaffolder validates the parameters it gets. */
function formSchema() {
  const pages: { required?: string[]; properties: Record<string, unknown> }[] = template.spec.parameters;
  return {
    type: 'object',
    required: pages.flatMap(p => p.required ?? []),
    properties: Object.assign({}, ...pages.map(p => p.properties)),
  };
}

/** The fields a form's values are refused for. */
function refused(values: Record<string, unknown>): string[] {
  const result = new Validator().validate(values, formSchema());
  return result.errors.map(e => (e.name === 'required' ? String(e.argument) : e.path.join('.')));
}

/**
 * Renders a step's input as the scaffolder does: nunjucks with `${{ }}` as the variable tags
 * and no escaping; a string that is one expression is rendered through `dump` and parsed back,
 * so arrays, numbers and objects keep their type, and an empty result drops the key.
 */
function render(input: unknown, context: object): unknown {
  const env = new nunjucks.Environment(null, {
    autoescape: false,
    tags: { variableStart: '${{', variableEnd: '}}' },
  });
  return JSON.parse(JSON.stringify(input), (_key, value) => {
    if (typeof value !== 'string') {
      return value;
    }
    if (/^\$\{\{[^}]*\}\}$/.test(value.trim())) {
      const dumped = env.renderString(value.replace(/\$\{\{(.+)\}\}/g, '${{ ( $1 ) | dump }}'), context);
      return dumped === '' ? undefined : JSON.parse(dumped);
    }
    const text = env.renderString(value, context);
    return text === '' ? undefined : text;
  });
}

describe('the tenant template', () => {
  it('is a valid v1beta3 Template entity', async () => {
    expect(() => entityEnvelopeSchemaValidator()(template)).not.toThrow();
    await expect(templateEntityV1beta3Validator.check(template)).resolves.toBe(true);
    expect(template.spec.steps.map((s: { action: string }) => s.action)).toEqual(['tenant-vending:request']);
  });

  it('takes the example and refuses bad input, naming the field', () => {
    expect(refused(parameters)).toEqual([]);
    const bad: [Record<string, unknown>, string][] = [
      [{ tenantId: 'Bad_Id' }, 'tenantId'],
      [{ tenantId: 'x'.repeat(41) }, 'tenantId'],
      [{ environment: 'moon' }, 'environment'],
      [{ owners: [] }, 'owners'],
      [{ owners: ['not-an-arn'] }, 'owners.0'],
      [{ viewers: ['arn:aws:iam::12:role/short'] }, 'viewers.0'],
      [{ prefixLength: 16 }, 'prefixLength'],
      [{ networkPolicyProfile: 'porous' }, 'networkPolicyProfile'],
      [{ costCenter: undefined }, 'costCenter'],
    ];
    for (const [change, field] of bad) {
      expect([field, refused({ ...parameters, ...change })]).toEqual([field, [field]]);
    }
  });

  it("offers the example platform config's environments, VPC sizes and required tags", () => {
    const config = JSON.parse(fs.readFileSync(path.join(here, '../infra/platform-config.json'), 'utf8'));
    const props = formSchema().properties as Record<string, any>;
    expect([...props.environment.enum].sort()).toEqual(Object.keys(config.environments).sort());
    const pool = config.network.pool;
    expect([props.prefixLength.minimum, props.prefixLength.maximum, props.prefixLength.default]).toEqual([
      pool.minPrefixLength,
      pool.maxPrefixLength,
      pool.defaultPrefixLength,
    ]);
    const body = template.spec.steps[0].input.body;
    for (const tag of config.requiredTags) {
      expect(Object.keys(body.tags)).toContain(tag);
    }
  });

  it('renders the request the API takes, with the task id as request id', () => {
    const rendered = render(template.spec.steps[0].input, { parameters, context: { task: { id: TASK_ID } } }) as {
      body: Record<string, unknown>;
    };
    expect(rendered.body.requestId).toBe(TASK_ID);
    const golden = path.join(here, 'examples/request-body.json');
    const text = `${JSON.stringify(rendered.body, null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN) {
      fs.writeFileSync(golden, text);
    }
    expect(text).toBe(fs.readFileSync(golden, 'utf8'));
  });
});
