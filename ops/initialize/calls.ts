// The reads the plan, the re-read before each write and the wait all make: whether DRS answers in
// an account and Region, and whether the account's service-linked role exists (IAM is global: once
// per account). A read that cannot run is "unchecked" with why, never taken as initialised.
import { DescribeReplicationConfigurationTemplatesCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { drsServiceLinkedRoleName } from "../../components/policies";
import { AwsAccess } from "../aws/access";
import { AccessStop, calling } from "../aws/calls";
import { Unchecked, uncheckedOf } from "../aws/faults";
import { DrsState, Reading, RoleState } from "./types";

export const describeTemplates = "drs:DescribeReplicationConfigurationTemplates";
export const getRole = "iam:GetRole";

/** DRS answers only where it was initialised; elsewhere it answers UninitializedAccountException. */
async function drsAnswers(aws: AwsAccess, account: string, region: string): Promise<boolean> {
    const drs = await aws.drs(account, region);
    try {
        // One template at most: only whether DRS answers matters here.
        await drs.send(new DescribeReplicationConfigurationTemplatesCommand({ maxResults: 1 }));
        return true;
    } catch (err) {
        if ((err as Error).name === "UninitializedAccountException") return false;
        throw err;
    }
}

/** InitializeService creates it; it exists once DRS was initialised in any Region of the account. */
async function roleExists(aws: AwsAccess, account: string, region: string): Promise<boolean> {
    const iam = await aws.iam(account, region);
    try {
        await iam.send(new GetRoleCommand({ RoleName: drsServiceLinkedRoleName }));
        return true;
    } catch (err) {
        if (/^NoSuchEntity(Exception)?$/.test((err as Error).name ?? "")) return false;
        throw err;
    }
}

type Read<T> = { value: T } | { unchecked: Unchecked };

/** Runs a read; what stops it becomes Unchecked, an access error an AccessStop when `stopOnAccess`; a bug goes through. */
async function attempt<T>(account: string, action: string, stopOnAccess: boolean, body: () => Promise<T>): Promise<Read<T>> {
    try {
        return { value: stopOnAccess ? await calling(account, action, body) : await body() };
    } catch (err) {
        if (err instanceof AccessStop) throw err;
        const unchecked = uncheckedOf(err, account, action);
        if (!unchecked) throw err;
        return { unchecked };
    }
}

/** Both readings as one status: not initialised as soon as either says so, initialised only when both do. */
function readingOf(account: string, drs: Read<boolean>, role: Read<boolean>): Reading {
    const drsState: DrsState = "unchecked" in drs ? "unchecked" : drs.value ? "answers" : "not-initialised";
    const roleState: RoleState = "unchecked" in role ? "unchecked" : role.value ? "exists" : "missing";
    const unchecked = [drs, role].flatMap((r) => ("unchecked" in r ? [r.unchecked] : []));
    const missing = [
        drsState === "not-initialised" ? "DRS answers UninitializedAccountException in this Region" : "",
        roleState === "missing" ? `the service-linked role ${drsServiceLinkedRoleName} does not exist in ${account}` : "",
    ].filter(Boolean);
    const states = { drs: drsState, serviceLinkedRole: roleState };
    if (missing.length > 0) return { ...states, status: "not-initialised", why: missing.join(", and ") };
    if (unchecked.length === 0) return { ...states, status: "initialised" };
    const permission = unchecked.find((u) => u.permission)?.permission;
    const fix = permission
        ? `grant ${permission} to the credentials used in ${account}`
        : unchecked.some((u) => u.kind === "unreachable")
          ? `set roleArn for ${account} in the stack config, or run with its credentials`
          : "run again";
    return { ...states, status: "unchecked", why: unchecked.map((u) => u.why).join("; "), ...(permission ? { permission } : {}), fix };
}

/**
 * Reads places. `stopOnAccess`: an access error stops the run (apply) instead of leaving the place
 * unchecked (plan). `rememberRoles`: "every" reads each account's role once (the plan); "existing"
 * remembers only a role seen to exist, so a missing one is read again (the re-read and the wait).
 */
export class PlaceReader {
    private readonly roles = new Map<string, Read<boolean>>();

    constructor(
        private readonly aws: AwsAccess,
        private readonly stopOnAccess: boolean,
        private readonly rememberRoles: "every" | "existing",
    ) {}

    async read(account: string, region: string): Promise<Reading> {
        const drs = await attempt(account, describeTemplates, this.stopOnAccess, () => drsAnswers(this.aws, account, region));
        let role = this.roles.get(account);
        if (!role) {
            role = await attempt(account, getRole, this.stopOnAccess, () => roleExists(this.aws, account, region));
            if (this.rememberRoles === "every" || ("value" in role && role.value)) this.roles.set(account, role);
        }
        return readingOf(account, drs, role);
    }
}
