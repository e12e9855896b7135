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
  const parsed = ProxyResponse.safeParse(result);
  return parsed.success ? parsed.data : undefined;
}
