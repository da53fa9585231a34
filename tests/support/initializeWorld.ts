// Accounts whose DRS is initialised in some Regions and not in others, mocked, for initialize:
// tests/ops/initialize.spec.ts runs the command against them. DRS answers
// DescribeReplicationConfigurationTemplates only where it is initialised; InitializeService
// initialises it there and creates the account's service-linked role (IAM's GetRole sees it).
import { DescribeReplicationConfigurationTemplatesCommand, DrsClient, InitializeServiceCommand } from "@aws-sdk/client-drs";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { drsServiceLinkedRoleName } from "../../components/policies";
import { AwsAccess } from "../../ops/aws/access";
import { Clock } from "../../ops/clock";
import { initializeCommand } from "../../ops/initialize";
import { fakeClock } from "./alignWorld";

export const staging = "444455556666";
export const target = "111122223333";
export const east = "us-east-1";
export const west = "us-west-2";

export const awsError = (name: string, message = name, extra: object = {}) => Object.assign(new Error(message), { name, ...extra });
export const status = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
export const denied = (account: string, action: string) =>
    awsError(
        "AccessDeniedException",
        `User: arn:aws:sts::${account}:assumed-role/Ops/me is not authorized to perform: ${action} on resource: *`,
        status(403),
    );
const uninitialised = () =>
    awsError("UninitializedAccountException", "Account not initialized for the Elastic Disaster Recovery service", status(400));
const noSuchRole = () => awsError("NoSuchEntityException", `The role with name ${drsServiceLinkedRoleName} cannot be found.`, status(404));

export interface WorldOptions {
    /** Account/Region pairs ("444455556666/us-east-1") where DRS is initialised at the start. */
    initialised: string[];
    /** Accounts whose service-linked role exists at the start. */
    roles: string[];
    /** After InitializeService, the GetRole reads that still miss the role before it appears (IAM is eventually consistent). */
    roleAfterReads?: number;
}

/**
 * DRS in each of `places` ("account/region") and IAM in each of their accounts. InitializeService
 * initialises its place and (after `roleAfterReads` reads) creates the account's role.
 */
export function drsAccounts(places: string[], options: WorldOptions) {
    const ready = new Set(options.initialised);
    const roles = new Set(options.roles);
    /** Per account: GetRole reads still to miss the role InitializeService is creating. */
    const creating = new Map<string, number>();
    const drs = new Map<string, DrsClient>();
    const drsMocks = new Map<string, ReturnType<typeof mockDrs>>();
    const iam = new Map<string, IAMClient>();
    const iamMocks = new Map<string, ReturnType<typeof mockIam>>();
    /** InitializeService's own effect, for tests that make it answer something else after doing it. */
    const initialise = (place: string) => {
        ready.add(place);
        const account = place.split("/")[0];
        if (!roles.has(account) && !creating.has(account)) creating.set(account, options.roleAfterReads ?? 0);
    };
    function mockDrs(place: string, client: DrsClient) {
        const mock = mockClient(client);
        mock.on(DescribeReplicationConfigurationTemplatesCommand).callsFake(async () => {
            if (!ready.has(place)) throw uninitialised();
            return { items: [] };
        });
        mock.on(InitializeServiceCommand).callsFake(async () => {
            initialise(place);
            return {};
        });
        return mock;
    }
    function mockIam(account: string, client: IAMClient) {
        const mock = mockClient(client);
        mock.on(GetRoleCommand).callsFake(async () => {
            const left = creating.get(account);
            if (left !== undefined && left <= 0) {
                creating.delete(account);
                roles.add(account);
            } else if (left !== undefined) creating.set(account, left - 1);
            if (!roles.has(account)) throw noSuchRole();
            const arn = `arn:aws:iam::${account}:role/aws-service-role/drs.amazonaws.com/${drsServiceLinkedRoleName}`;
            return { Role: { RoleName: drsServiceLinkedRoleName, Arn: arn, Path: "/", RoleId: "AROA", CreateDate: new Date() } };
        });
        return mock;
    }
    for (const place of places) {
        const [account, region] = place.split("/");
        const client = new DrsClient({ region });
        drs.set(place, client);
        drsMocks.set(place, mockDrs(place, client));
        if (!iam.has(account)) {
            const iamClient = new IAMClient({ region: east });
            iam.set(account, iamClient);
            iamMocks.set(account, mockIam(account, iamClient));
        }
    }
    /** Write clients that are not the mocks (the SDK's own retry, with a scripted HTTP handler). */
    const writers = new Map<string, DrsClient>();
    const reach = <T>(clients: Map<string, T>, key: string): T => {
        const client = clients.get(key);
        if (!client) throw new Error(`the test mocks nothing in ${key}`);
        return client;
    };
    const access: AwsAccess = {
        drs: async (account, region) => reach(drs, `${account}/${region}`),
        drsWriter: async (account, region) => writers.get(`${account}/${region}`) ?? reach(drs, `${account}/${region}`),
        iam: async (account) => reach(iam, account),
        kms: async () => {
            throw new Error("initialize never uses KMS");
        },
        ec2: async () => {
            throw new Error("initialize never uses EC2");
        },
    };
    /** Every InitializeService sent through the mocks, as "account/region". */
    const initializeCalls = () => [...drsMocks].flatMap(([place, mock]) => mock.commandCalls(InitializeServiceCommand).map(() => place));
    return { access, drsMocks, iamMocks, ready, roles, writers, initialise, initializeCalls };
}

/** The fake clock the align-servers tests use: sleeping moves time on at once, and is recorded. */
export { fakeClock };

const project = "drs-cross-account-kms";

/** A staging stack's config file: one staging account in `regions`, one target (its Regions: the staging ones). */
export function stagingConfig(regions: string[] = [east, west]): string {
    const entries = regions.flatMap((region) => [
        `    - accountId: "${staging}"`,
        `      region: ${region}`,
        "      replication:",
        "        stagingAreaSubnetId: subnet-0123456789abcdef0",
    ]);
    return configFile("staging", [
        `  ${project}:deploy: staging`,
        `  ${project}:target:`,
        `    accountId: "${target}"`,
        `  ${project}:stagingAccounts:`,
        ...entries,
    ]);
}

/** A target stack's config file, without target.regions: its Regions come from the staging stacks' keys. */
export function targetConfig(): string {
    return configFile("target", [
        `  ${project}:deploy: target`,
        `  ${project}:target:`,
        `    accountId: "${target}"`,
        "    keyUserRoleNames: [DrsRecoveryOperator]",
        `  ${project}:stagingStacks:`,
        "    - organization/drs-cross-account-kms/staging",
    ]);
}

function configFile(name: string, lines: string[]): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "drs-initialize-")), `Pulumi.${name}.yaml`);
    fs.writeFileSync(file, ["config:", '  pulumi:disable-default-providers: ["*"]', ...lines, ""].join("\n"));
    return file;
}

export interface RunOptions {
    apply?: boolean;
    json?: boolean;
    configFile: string;
    outputsFile?: string;
    clock?: Clock;
    pollMs?: number;
    lostAnswerWaitMs?: number;
    timeLimitMinutes?: number;
    signal?: AbortSignal;
}

/** Runs the command as the CLI does (the stack from its config file, no Pulumi CLI) against the mocked accounts. */
export async function run(access: AwsAccess, options: RunOptions) {
    let out = "";
    let err = "";
    const code = await initializeCommand(
        {
            stack: "staging",
            configFile: options.configFile,
            outputsFile: options.outputsFile,
            json: Boolean(options.json),
            apply: Boolean(options.apply),
            timeLimitMinutes: options.timeLimitMinutes,
        },
        {
            io: { out: (t) => (out += t), err: (t) => (err += t) },
            access: () => access,
            clock: options.clock ?? fakeClock().clock,
            pollMs: options.pollMs,
            lostAnswerWaitMs: options.lostAnswerWaitMs,
            signal: options.signal ?? new AbortController().signal,
        },
    );
    return { code, out, err };
}
