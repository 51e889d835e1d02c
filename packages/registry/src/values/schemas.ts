// One zod schema per typed value (docs/values.md section 3), shared by the
// replica (which refuses a malformed typed value on write) and the SDK (which
// parses a verified one). Every object is strict, every string and array is
// bounded (values/limits.ts), every number that counts is an integer.
// No transforms and no defaults: the parsed value has exactly the fields of
// the JSON text, so re-encoding it loses nothing.
//
// Cross-field rules (a variant named by a rule exists, weights sum to 10000,
// a backup pin is not a primary pin) are refinements: zod runs them only when
// the fields they read have the right shape.

import * as z from 'zod';
import { tryBase64ToBytes } from '@vcr/proofs';
import { type JsonValue, checkJsonValue } from './json';
import { valueLimits as L } from '../limits';

export const TYPED_VALUE_TYPES = ['flag', 'pins', 'endpoint', 'json'] as const;
export type TypedValueType = (typeof TYPED_VALUE_TYPES)[number];

/** Variant, attribute, rule id and metadata key names: ASCII, starting with a letter or digit. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
/** A lowercase DNS name (RFC 1123 labels), no trailing dot. */
export const HOSTNAME_PATTERN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

const nameSchema = z
  .string()
  .min(1)
  .max(L.nameCharsMax)
  .regex(NAME_PATTERN, { message: 'must be ASCII letters, digits, _ . : - and start with a letter or digit' });
const descriptionSchema = z.string().max(L.descriptionCharsMax);

/** Any JSON value whose nesting stays within the document's depth limit; checked iteratively. */
function boundedJson(depthMax: number) {
  return z.custom<JsonValue>().superRefine((value, ctx) => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'required' });
      return;
    }
    const problem = checkJsonValue(value, depthMax);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem.message} (at ${problem.path.replace(/^\$/, 'value')})` });
  });
}

function hasDuplicate(items: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item)) return item;
    seen.add(item);
  }
  return undefined;
}

// ---- flag ----

const conditionValueSchema = z.string().max(L.flagConditionValueCharsMax);
const conditionValuesSchema = z
  .array(conditionValueSchema)
  .min(1)
  .max(L.flagConditionValuesMax)
  .superRefine((values, ctx) => {
    const duplicate = hasDuplicate(values);
    if (duplicate !== undefined) ctx.addIssue({ code: 'custom', message: `duplicate value ${JSON.stringify(duplicate)}` });
  });

/** A test on one string attribute of the evaluation context; false when the attribute is absent or not a string. */
export const flagConditionSchema = z.discriminatedUnion('op', [
  z.strictObject({ attribute: nameSchema, op: z.literal('equals'), value: conditionValueSchema }),
  z.strictObject({ attribute: nameSchema, op: z.literal('prefix'), value: conditionValueSchema.min(1) }),
  z.strictObject({ attribute: nameSchema, op: z.literal('in'), values: conditionValuesSchema }),
  z.strictObject({ attribute: nameSchema, op: z.literal('not-in'), values: conditionValuesSchema }),
]);

export const rolloutSchema = z
  .strictObject({
    /** The context attribute whose value is the unit of the rollout (e.g. "userId"). */
    by: nameSchema,
    /** Mixed into the bucket hash; change it to reshuffle who gets what. Absent means "". */
    salt: z.string().max(L.flagSaltCharsMax).optional(),
    /** In order: bucket b (0..9999) gets the first variant whose running total exceeds b. */
    weights: z
      .array(z.strictObject({ variant: nameSchema, weight: z.int().min(0).max(L.rolloutBasisPoints) }))
      .min(1)
      .max(L.flagVariantsMax),
  })
  .superRefine((rollout, ctx) => {
    const total = rollout.weights.reduce((sum, w) => sum + w.weight, 0);
    if (total !== L.rolloutBasisPoints) {
      ctx.addIssue({ code: 'custom', path: ['weights'], message: `weights sum to ${total} basis points; they must sum to exactly ${L.rolloutBasisPoints} (100%)` });
    }
    const duplicate = hasDuplicate(rollout.weights.map((w) => w.variant));
    if (duplicate !== undefined) ctx.addIssue({ code: 'custom', path: ['weights'], message: `variant ${JSON.stringify(duplicate)} is listed twice` });
  });

/** What a matching rule serves: exactly one of a variant or a rollout. */
export const flagServeSchema = z
  .strictObject({ variant: nameSchema.optional(), rollout: rolloutSchema.optional() })
  .superRefine((serve, ctx) => {
    if ((serve.variant === undefined) === (serve.rollout === undefined)) ctx.addIssue({ code: 'custom', message: 'serve needs exactly one of "variant" or "rollout"' });
  });

export const flagRuleSchema = z.strictObject({
  id: nameSchema,
  description: descriptionSchema.optional(),
  /** Every condition must hold (AND). */
  when: z.array(flagConditionSchema).min(1).max(L.flagConditionsMax),
  serve: flagServeSchema,
});

export const flagSchema = z
  .strictObject({
    type: z.literal('flag'),
    description: descriptionSchema.optional(),
    /** Absent means true. A disabled flag serves its default variant to everyone. */
    enabled: z.boolean().optional(),
    variants: z.record(nameSchema, boundedJson(L.jsonDepthMax - 2)),
    defaultVariant: nameSchema,
    /** Tried in order; the first rule whose conditions all hold decides. */
    rules: z.array(flagRuleSchema).max(L.flagRulesMax).optional(),
    /** For everyone no rule matched; absent means they get the default variant. */
    rollout: rolloutSchema.optional(),
  })
  .superRefine((flag, ctx) => {
    const names = Object.keys(flag.variants);
    if (names.length === 0 || names.length > L.flagVariantsMax) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: `a flag has 1 to ${L.flagVariantsMax} variants, not ${names.length}` });
    }
    const known = (variant: string): boolean => Object.hasOwn(flag.variants, variant);
    const unknown = (path: (string | number)[], variant: string): void => {
      ctx.addIssue({ code: 'custom', path, message: `variant ${JSON.stringify(variant)} is not one of the flag's variants` });
    };
    if (!known(flag.defaultVariant)) unknown(['defaultVariant'], flag.defaultVariant);
    const checkRollout = (path: (string | number)[], rollout: z.infer<typeof rolloutSchema>): void => {
      rollout.weights.forEach((w, i) => {
        if (!known(w.variant)) unknown([...path, 'weights', i, 'variant'], w.variant);
      });
    };
    const rules = flag.rules ?? [];
    rules.forEach((rule, i) => {
      if (rule.serve.variant !== undefined && !known(rule.serve.variant)) unknown(['rules', i, 'serve', 'variant'], rule.serve.variant);
      if (rule.serve.rollout !== undefined) checkRollout(['rules', i, 'serve', 'rollout'], rule.serve.rollout);
    });
    const duplicate = hasDuplicate(rules.map((r) => r.id));
    if (duplicate !== undefined) ctx.addIssue({ code: 'custom', path: ['rules'], message: `rule id ${JSON.stringify(duplicate)} is used twice` });
    if (flag.rollout !== undefined) checkRollout(['rollout'], flag.rollout);
  });

// ---- pins ----

/** RFC 7469 section 2.1.1: standard base64 (padded) of the SHA-256 of the DER SubjectPublicKeyInfo. */
export const spkiPinSchema = z
  .string()
  .length(44, { message: 'a pin is the 44-character base64 of a 32-byte SHA-256 digest' })
  .refine((pin) => tryBase64ToBytes(pin)?.length === 32, { message: 'not the canonical padded base64 of 32 bytes' });

function pinListSchema(max: number) {
  return z
    .array(spkiPinSchema)
    .min(1)
    .max(max)
    .superRefine((pins, ctx) => {
      const duplicate = hasDuplicate(pins);
      if (duplicate !== undefined) ctx.addIssue({ code: 'custom', message: `pin ${duplicate} is listed twice` });
    });
}

export const pinSetSchema = z
  .strictObject({
    type: z.literal('pins'),
    description: descriptionSchema.optional(),
    /** Pins of the keys in service now. */
    pins: pinListSchema(L.pinsMax),
    /** Pins of keys not in service yet (RFC 7469 section 4.3): at least one, none of them a primary pin. */
    backupPins: pinListSchema(L.backupPinsMax),
    /** From this instant on (ms since the Unix epoch, UTC) the set no longer vouches for anything. */
    expiresAtMs: z.int().min(1).max(L.expiresAtMsMax),
    /** Which names the set covers; absent means the caller decides (the registry key usually names the host). */
    hostnames: z.array(z.string().max(L.hostnameCharsMax).regex(HOSTNAME_PATTERN, { message: 'not a lowercase DNS name' })).min(1).max(L.hostnamesMax).optional(),
    /** Also covers every subdomain of each hostname (RFC 7469 section 2.1.2). Needs hostnames. */
    includeSubdomains: z.boolean().optional(),
  })
  .superRefine((set, ctx) => {
    set.backupPins.forEach((pin, i) => {
      if (set.pins.includes(pin)) ctx.addIssue({ code: 'custom', path: ['backupPins', i], message: 'a backup pin must differ from every primary pin (RFC 7469 section 4.3)' });
    });
    if (set.includeSubdomains !== undefined && set.hostnames === undefined) ctx.addIssue({ code: 'custom', path: ['includeSubdomains'], message: 'includeSubdomains needs hostnames' });
    if (set.hostnames !== undefined) {
      const duplicate = hasDuplicate(set.hostnames);
      if (duplicate !== undefined) ctx.addIssue({ code: 'custom', path: ['hostnames'], message: `hostname ${duplicate} is listed twice` });
    }
  });

// ---- endpoint ----

const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const IPV6_LITERAL = /^\[[0-9a-f:.]{2,45}\]$/;
const PORT = /^(?:[1-9][0-9]{0,4})$/;
/** RFC 3986 pchar and "/": unreserved, sub-delims, ":", "@", and percent-escapes. */
const PATH = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)*$/;

/**
 * Our own narrow URL grammar, not the platform's URL parser: parsers differ
 * between Node versions and browsers, and every replica must decide alike.
 * scheme "://" host [":" port] [path]; no userinfo, query or fragment; the
 * host a lowercase DNS name, an IPv4 address or a bracketed IPv6 literal.
 */
export function checkEndpointUrl(url: string): string | undefined {
  const match = /^(https?):\/\/([^/:[\]]+|\[[^\]]*\])(?::([^/]*))?(\/.*)?$/.exec(url);
  if (match === null) return 'must be scheme://host[:port][/path] with scheme https (or http with allowInsecure)';
  const [, , host = '', port, path] = match;
  if (!HOSTNAME_PATTERN.test(host) && !IPV4.test(host) && !IPV6_LITERAL.test(host)) return `host ${JSON.stringify(host)} is not a lowercase DNS name or an IP address`;
  if (port !== undefined && (!PORT.test(port) || Number(port) > 65535)) return `port ${JSON.stringify(port)} is not 1 to 65535`;
  if (path !== undefined && !PATH.test(path)) return 'the path may hold only RFC 3986 path characters (no query, fragment or spaces)';
  return undefined;
}

export const endpointSchema = z
  .strictObject({
    type: z.literal('endpoint'),
    description: descriptionSchema.optional(),
    url: z
      .string()
      .max(L.urlCharsMax)
      .superRefine((url, ctx) => {
        const problem = checkEndpointUrl(url);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    region: z.string().min(1).max(L.regionCharsMax).regex(REGION_PATTERN, { message: 'must be lowercase letters, digits and -' }),
    /** Relative share of traffic among the candidates; 0 drains the endpoint. */
    weight: z.int().min(0).max(L.endpointWeightMax),
    /** Required (true) for an http: URL, so plaintext is a visible, audited decision. */
    allowInsecure: z.boolean().optional(),
    metadata: z.record(nameSchema, z.string().max(L.metadataValueCharsMax)).optional(),
  })
  .superRefine((endpoint, ctx) => {
    if (endpoint.url.startsWith('http:') && endpoint.allowInsecure !== true) ctx.addIssue({ code: 'custom', path: ['url'], message: 'an http: URL needs "allowInsecure": true' });
    if (endpoint.metadata !== undefined && Object.keys(endpoint.metadata).length > L.metadataEntriesMax) {
      ctx.addIssue({ code: 'custom', path: ['metadata'], message: `at most ${L.metadataEntriesMax} metadata entries` });
    }
  });

// ---- json ----

export const jsonTypedValueSchema = z.strictObject({
  type: z.literal('json'),
  description: descriptionSchema.optional(),
  value: boundedJson(L.jsonDepthMax - 1),
});

// ---- all of them ----

export const typedValueSchemas = { flag: flagSchema, pins: pinSetSchema, endpoint: endpointSchema, json: jsonTypedValueSchema } as const;
export const typedValueSchema = z.discriminatedUnion('type', [flagSchema, pinSetSchema, endpointSchema, jsonTypedValueSchema]);

export type FlagCondition = z.infer<typeof flagConditionSchema>;
export type Rollout = z.infer<typeof rolloutSchema>;
export type FlagRule = z.infer<typeof flagRuleSchema>;
export type FlagValue = z.infer<typeof flagSchema>;
export type PinSetValue = z.infer<typeof pinSetSchema>;
export type EndpointValue = z.infer<typeof endpointSchema>;
export type JsonTypedValue = z.infer<typeof jsonTypedValueSchema>;
export type TypedValue = FlagValue | PinSetValue | EndpointValue | JsonTypedValue;
export type TypedValueOf<T extends TypedValueType> = Extract<TypedValue, { type: T }>;
