// EventBridge as far as the drift alerts use it, for the tests: event patterns matched as Event
// Ruler matches them (github.com/aws/event-ruler: AND across fields, OR within a value list,
// arrays in the event matched element by element, arrays of objects "crushed out"), the operators
// the patterns use (exists, anything-but), and input transformers rendered as EventBridge fills in
// a string template. And CloudTrail management events as EventBridge delivers them.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type EventPattern = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** Whether the event matches the pattern: every field of the pattern, at the same nesting. */
export function matches(pattern: EventPattern, event: unknown): boolean {
    return Object.entries(pattern).every(([field, expected]) => {
        if (field === "$or") {
            if (!Array.isArray(expected) || expected.length < 2) throw new Error("$or takes a list of at least two patterns.");
            return expected.some((branch) => matches(branch as EventPattern, event));
        }
        const actual = isObject(event) ? event[field] : undefined;
        if (Array.isArray(expected)) return leafMatches(expected, actual);
        if (!isObject(expected)) throw new Error(`The pattern's ${field} is neither a list of values nor an object.`);
        // An array of objects: one element must match the whole nested pattern (Event Ruler's array consistency).
        const candidates = Array.isArray(actual) ? actual : [actual];
        return candidates.some((candidate) => isObject(candidate) && matches(expected, candidate));
    });
}

/** A leaf: any of the values or operators matches the event's value (any element of an array of them). */
function leafMatches(expected: unknown[], actual: unknown): boolean {
    const values = actual === undefined ? [] : Array.isArray(actual) ? actual : [actual];
    const isLeaf = actual !== undefined && values.every((v) => !isObject(v) && !Array.isArray(v));
    return expected.some((item) => {
        if (!isObject(item)) return isLeaf && values.some((v) => v === item);
        const [operator, operand, ...more] = Object.entries(item).flat();
        if (more.length > 0) throw new Error(`One operator per value, not ${JSON.stringify(item)}.`);
        switch (operator) {
            case "exists":
                // Exists looks at leaves only: an object there is no leaf, so "does not exist".
                return operand === isLeaf;
            case "anything-but": {
                // Matches a value that is none of these; an absent field is no value.
                const excluded = Array.isArray(operand) ? operand : [operand];
                return isLeaf && values.some((v) => !excluded.includes(v));
            }
            case "prefix":
                return isLeaf && values.some((v) => typeof v === "string" && v.startsWith(String(operand)));
            default:
                throw new Error(`The matcher does not know the operator ${String(operator)}.`);
        }
    });
}

export interface InputTransformer {
    inputPaths: Record<string, string>;
    inputTemplate: string;
}

/**
 * The text SNS receives: each <variable> of a plain-text template (EventBridge's API reference
 * shows "<instance> is in state <status>") filled in from its JSON path, in dot notation. A path
 * the event lacks fails the test: the samples carry every field the messages name. A JSON
 * template (an object, or a string in quotes) is refused: its quotes would reach the reader.
 */
export function render(transformer: InputTransformer, event: unknown): string {
    const { inputPaths, inputTemplate } = transformer;
    const used = [...inputTemplate.matchAll(/<([^<>]+)>/g)].map((m) => m[1]);
    for (const name of used) if (!(name in inputPaths)) throw new Error(`<${name}> has no input path.`);
    for (const name of Object.keys(inputPaths)) {
        if (!used.includes(name)) throw new Error(`The input path ${name} is not in the template.`);
        if (/^aws/i.test(name)) throw new Error(`${name}: EventBridge reserves names starting with aws.`);
    }
    if (/^\s*["{[]/.test(inputTemplate)) throw new Error("The template is JSON: SNS would deliver its quotes and braces too.");
    return inputTemplate.replace(/<([^<>]+)>/g, (_, name: string) => {
        const value = valueAt(event, inputPaths[name]);
        if (typeof value !== "string") throw new Error(`${inputPaths[name]} is ${JSON.stringify(value)} in the event, not a string.`);
        return value;
    });
}

function valueAt(event: unknown, path: string): unknown {
    if (!/^\$(\.[A-Za-z0-9_-]+)+$/.test(path)) throw new Error(`${path} is not a JSON path in dot notation.`);
    return path
        .split(".")
        .slice(1)
        .reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), event);
}

export interface CloudTrailCall {
    /** The service's event source, e.g. kms.amazonaws.com. */
    eventSource: string;
    eventName: string;
    account: string;
    /** Where the call was made: IAM's are recorded in us-east-1. */
    region: string;
    requestParameters?: Json;
    responseElements?: Json;
    additionalEventData?: Json;
    /** The resources CloudTrail lists for the call (KMS: the key). */
    resources?: { accountId: string; type: string; ARN: string }[];
    userIdentity?: Json;
    errorCode?: string;
    eventTime?: string;
    readOnly?: boolean;
}

/** A person's session: an assumed role of the account, as CloudTrail names it. */
export const adminSession = (account: string) => ({
    type: "AssumedRole",
    principalId: "AROAEXAMPLEID:alice",
    arn: `arn:aws:sts::${account}:assumed-role/Admin/alice`,
    accountId: account,
    accessKeyId: "ASIAEXAMPLEKEY",
    sessionContext: {
        sessionIssuer: {
            type: "Role",
            principalId: "AROAEXAMPLEID",
            arn: `arn:aws:iam::${account}:role/Admin`,
            accountId: account,
            userName: "Admin",
        },
        attributes: { creationDate: "2026-12-01T09:58:02Z", mfaAuthenticated: "true" },
    },
});

/** A management event CloudTrail recorded, in the envelope EventBridge delivers it in. */
export function cloudTrailEvent(call: CloudTrailCall): Record<string, Json> {
    const service = call.eventSource.split(".")[0];
    const eventTime = call.eventTime ?? "2026-12-01T10:04:17Z";
    const detail: Record<string, Json> = {
        eventVersion: "1.08",
        userIdentity: call.userIdentity ?? adminSession(call.account),
        eventTime,
        eventSource: call.eventSource,
        eventName: call.eventName,
        awsRegion: call.region,
        sourceIPAddress: "192.0.2.10",
        userAgent: "aws-cli/2.15.0",
        requestParameters: call.requestParameters ?? null,
        responseElements: call.responseElements ?? null,
        ...(call.additionalEventData ? { additionalEventData: call.additionalEventData } : {}),
        ...(call.errorCode ? { errorCode: call.errorCode, errorMessage: `${call.errorCode}: not authorized` } : {}),
        requestID: "5f0e2a3c-1111-4c1d-9a1e-0123456789ab",
        eventID: "c0ffee00-2222-4e4e-8f8f-0123456789ab",
        readOnly: call.readOnly ?? false,
        ...(call.resources ? { resources: call.resources } : {}),
        eventType: "AwsApiCall",
        managementEvent: true,
        recipientAccountId: call.account,
        eventCategory: "Management",
    };
    return {
        version: "0",
        id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        source: `aws.${service}`,
        account: call.account,
        time: eventTime,
        region: call.region,
        resources: [],
        detail,
    };
}
