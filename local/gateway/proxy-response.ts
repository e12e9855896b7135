// The Lambda proxy integration's response contract, checked as API Gateway checks it: a JSON
// object with an integer statusCode, string headers and body, and no other top-level keys.
// Anything else is a "Malformed Lambda proxy response" (502) on AWS, so it is here too.
import * as z from 'zod';

/**
 * Null is accepted wherever a field is optional: AWS deserializes null as absent, and runtimes
 * whose response types have no optional fields (Go's `events.APIGatewayProxyResponse`) send it.
 */
const ProxyResponse = z.strictObject({
  statusCode: z.int().min(100).max(599),
  headers: z.record(z.string(), z.string()).nullish(),
  multiValueHeaders: z.record(z.string(), z.array(z.string())).nullish(),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().nullish(),
  /** Allowed by AWS's parser; REST APIs (payload format 1.0) do not turn it into headers. */
  cookies: z.array(z.string()).nullish(),
});

export type ProxyResponse = z.infer<typeof ProxyResponse>;

/** The function's result as a proxy response, or undefined when API Gateway would reject it. */
export function parseProxyResponse(result: unknown): ProxyResponse | undefined {
  if (isPlainProxyResponse(result)) return result;
  const parsed = ProxyResponse.safeParse(result);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The shape nearly every answer has — an integer status, string headers, a string body, an
 * optional base64 flag, nothing else — checked by hand: the gateway checks every answer, and
 * the schema's parse allocates a copy of each. Anything else goes through the schema.
 */
function isPlainProxyResponse(result: unknown): result is ProxyResponse {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return false;
  const r = result as Record<string, unknown>;
  for (const key in r)
    if (key !== 'statusCode' && key !== 'headers' && key !== 'body' && key !== 'isBase64Encoded')
      return false;
  const { statusCode, headers, body, isBase64Encoded } = r;
  if (!(Number.isInteger(statusCode) && (statusCode as number) >= 100 && (statusCode as number) <= 599))
    return false;
  if (typeof body !== 'string' || (isBase64Encoded !== undefined && typeof isBase64Encoded !== 'boolean'))
    return false;
  if (headers === undefined) return true;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return false;
  for (const key in headers as Record<string, unknown>)
    if (typeof (headers as Record<string, unknown>)[key] !== 'string') return false;
  return true;
}
