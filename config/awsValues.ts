// The kinds of values, each saying what AWS accepts in words a user can act on.
import { programTags } from "../components/defaults";
import {
    isIdentityCenterRole,
    isRegionName,
    isServiceLinkedRole,
    parseIdentityCenterInstanceArn,
    parseKeyArn,
    parsePermissionSetArn,
    parseRoleArn,
} from "../components/policies";
import { Kind, refuse, secretPlaceholder, shaped, text } from "./settings";
import { shown } from "./text";

export const bool: Kind<boolean> = (x) =>
    typeof x === "boolean" ? x : x === "true" || x === "false" ? x === "true" : refuse(`must be true or false, not ${shown(x)}.`);
export const whole =
    (min: number, max: number): Kind<number> =>
    (x) => {
        const n = typeof x === "string" && /^\d+$/.test(x) ? Number(x) : x;
        return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max
            ? n
            : refuse(`must be a whole number from ${min} to ${max}, not ${shown(x)}.`);
    };
export const amount: Kind<number> = (x) =>
    typeof x === "number" && Number.isFinite(x) && x >= 0 ? x : refuse(`must be a number, 0 or more, not ${shown(x)}.`);
/** A figure of the prices: only the offline tools read them, and they cannot decrypt a secret, so it is refused. */
export const price = <T>(read: Kind<T>): Kind<T> =>
    Object.assign((x: unknown) => read(x), {
        secret: refuse("is a secret, but only the offline tools read prices and they cannot decrypt it: write the figure in plain text."),
    });
/** A choice the plan is built on: the offline tools cannot plan without it, so a secret one is refused (it is not sensitive). */
export const planned = <T>(read: Kind<T>): Kind<T> =>
    Object.assign((x: unknown) => read(x), {
        secret: refuse("is a secret, which the offline tools cannot decrypt, and the plan is built on it: set it in plain text."),
    });
export const oneOf =
    <T extends string>(allowed: readonly T[]): Kind<T> =>
    (x) =>
        (allowed as readonly unknown[]).includes(x) ? (x as T) : refuse(`must be one of ${allowed.join(", ")}, not ${shown(x)}.`);

export const accountId = text((x) => {
    // YAML reads an unquoted 012345678901 as a number and drops the leading zero: say so.
    if (typeof x !== "number")
        return typeof x === "string" && /^\d{12}$/.test(x) ? x : refuse(`${shown(x)} is not a 12-digit AWS account ID.`);
    if (Number.isInteger(x) && String(x).length === 12) return String(x);
    return refuse(`reads as the number ${x}: quote the 12-digit account ID ("0..."), as YAML drops leading zeros of an unquoted one.`);
}, "the 12-digit AWS account ID, quoted.");
export const region = shaped(isRegionName, "an AWS Region name (such as us-east-1)", "an AWS Region name such as us-east-1.");
export const roleArn = shaped(parseRoleArn, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
/** A profile of the AWS config and credentials files, as `[profile <name>]` names it. */
export const profileName = shaped(
    /^[\w.@+=,:/-]{1,128}$/,
    "an AWS config profile name (a [profile <name>] of ~/.aws/config: letters, digits and _.@+=,:/-)",
);
export const id = (prefix: string, what: string) => shaped(new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`), what);
export const arnPattern = (service: string, rest: string) => new RegExp(`^arn:(aws|aws-cn|aws-us-gov):${service}:${rest}$`);
export const subnetId = id("subnet", "a subnet ID. Use the staging area subnet's ID, like subnet-0123456789abcdef0");
export const securityGroupId = id("sg", "a security group ID (sg-...)");
export const instanceType = shaped(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, "an EC2 instance type (family.size, such as t3.small)");
export const replicationTemplateId = shaped(
    /^rct-[0-9a-zA-Z]{17}$/,
    "a replication configuration template ID (rct- and 17 characters; see aws drs describe-replication-configuration-templates)",
);
/** A DRS source server's ID: s- and 17 characters. */
export const sourceServerId = shaped(/^s-[0-9a-zA-Z]{17}$/, "a DRS source server ID (s- and 17 characters, such as s-0123456789abcdef0)");
export const launchTemplateId = shaped(/^lct-[0-9a-zA-Z]{17}$/, "a launch configuration template ID (lct- and 17 characters)");
export const topicArn = shaped(
    arnPattern("sns", "[a-z0-9-]+:\\d{12}:[\\w-]{1,256}"),
    "an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
);
export const bucketArn = shaped(arnPattern("s3", "::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"), "an S3 bucket ARN (arn:aws:s3:::<bucket>)");
export const instanceArn = shaped(
    parseIdentityCenterInstanceArn,
    "an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-<16 characters>)",
);
export const permissionSetArn = shaped(parsePermissionSetArn, "a permission set ARN (arn:aws:sso:::permissionSet/ssoins-.../ps-...)");

/** A role name, or the ARN of a role (its account is checked against the target's). */
export const keyUserRole = text((x) => {
    if (typeof x !== "string" || x.length === 0) return refuse("must be a role name or role ARN.");
    if (isServiceLinkedRole(x)) {
        return refuse(
            `${shown(x)} is a service-linked role. IAM rejects any policy attached to a service-linked role (UnmodifiableEntity), ` +
                "so the guide's Step 4 cannot work. Name the roles in the target account that start recoveries and drills instead.",
        );
    }
    if (isIdentityCenterRole(x)) {
        return refuse(
            `${shown(x)} is a role of IAM Identity Center (path /aws-reserved/sso.amazonaws.com/, name AWSReservedSSO_...). ` +
                "Identity Center owns these roles and IAM refuses to attach a policy to them. Set identityCenter " +
                "(instanceArn, permissionSetArns) so the permission set references the key-use policies instead.",
        );
    }
    if (x.startsWith("arn:")) return parseRoleArn(x) ? x : refuse(`${shown(x)} is not an IAM role ARN.`);
    return /^[\w+=,.@-]{1,64}$/.test(x) ? x : refuse(`${shown(x)} is not an IAM role name (up to 64 of letters, digits and +=,.@_-).`);
});
export const alias = shaped(
    (x) => /^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(x) && !x.startsWith("alias/aws/"),
    "a valid alias. Use alias/<name> with letters, digits, /, _ or -, at most 256 characters, not under alias/aws/",
);
export const keyReference = shaped(
    (x) => /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/.test(x) || parseKeyArn(x),
    "a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key ID (mrk-...) or a key ARN. An alias does not name a key for good: use the key's ID",
);
export const description = text((x) =>
    typeof x === "string" && x.length > 0 && x.length <= 8192 ? x : refuse("must be a non-empty string of at most 8,192 characters."),
);
export const stackName = shaped(
    (x) => /^[\w.-]+(\/[\w.-]+){0,2}$/.test(x) && x.split("/").every((part) => !/^\.+$/.test(part)),
    "a stack name. Use <stack>, <project>/<stack> or <organization>/<project>/<stack>",
);

/** A mapping without a prototype: a key named like an object internal (constructor, toString) is only itself. */
export function record<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
    const mapping = Object.create(null) as Record<string, T>;
    for (const [key, value] of entries) mapping[key] = value;
    return mapping;
}

/**
 * Tags as AWS accepts them: keys of 1 to 128 and values of up to 256 letters, digits, spaces and
 * _.:/=+-@, no key under the reserved aws: prefix, at most `max`. A number or true/false (what
 * `pulumi config set --path` writes for `tags.CostCenter 1234`) becomes text. A secret value is
 * not judged; a secret mapping stands as one tag of the placeholder, as the plan shows it.
 */
export const tags = (max: number): Kind<Record<string, string>> => {
    const read = (x: unknown) => {
        if (x === null || typeof x !== "object" || Array.isArray(x)) return refuse("must be a mapping of tag names to values.");
        const allowed = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
        const pairs = Object.entries(x).map(
            ([key, raw]) => [key, typeof raw === "number" || typeof raw === "boolean" ? String(raw) : (raw as unknown)] as const,
        );
        const problems = pairs.flatMap(([key, value]) => [
            ...(key.length === 0 || key.length > 128 || !allowed.test(key)
                ? [`the tag name ${shown(key)} is not 1 to 128 of letters, digits, spaces and _.:/=+-@`]
                : []),
            // The SDK copies inputs into plain objects, where "__proto__" sets the prototype instead of a key.
            ...(key === "__proto__"
                ? ['the tag name "__proto__" cannot reach AWS: the Pulumi SDK for Node.js drops an input key of that name. Rename the tag']
                : []),
            ...(/^aws:/i.test(key) ? [`the tag name ${shown(key)} uses the aws: prefix, which AWS reserves`] : []),
            ...(value === null
                ? [`the tag ${shown(key)} has no value (YAML reads an empty value, null or ~ as none): write "" for an empty value`]
                : value !== secretPlaceholder && (typeof value !== "string" || value.length > 256 || !allowed.test(value))
                  ? [`the tag ${shown(key)} has a value that is not up to 256 of letters, digits, spaces and _.:/=+-@`]
                  : []),
        ]);
        if (pairs.length > max) problems.push(`has ${pairs.length} tags; at most ${max} fit on a resource with the program's own`);
        return problems.length > 0 ? refuse(`${problems.join("; ")}.`) : record(pairs as [string, string][]);
    };
    return Object.assign(read, { secret: Object.freeze(record([[secretPlaceholder, secretPlaceholder]])) });
};

/** AWS's 50 tags per resource, less the program's own tags and the two each key carries (Purpose, TargetAccount). */
export const maxExtraTags = 50 - Object.keys(programTags).length - 2;
