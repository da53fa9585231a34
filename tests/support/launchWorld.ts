// A target account's DRS, mocked for align-launch: servers extended into it, each with its own
// launch configuration that UpdateLaunchConfiguration changes, and one server replicating into
// the target itself. tests/ops/alignLaunch.spec.ts and the docs' samples run against it.
import {
    DescribeSourceServersCommand,
    DrsClient,
    GetLaunchConfigurationCommand,
    LaunchConfiguration,
    SourceServer,
    UpdateLaunchConfigurationCommand,
} from "@aws-sdk/client-drs";
import { mockClient } from "aws-sdk-client-mock";
import { AlignLaunchOptions, alignLaunch } from "../../ops/align-launch";
import { AwsAccess } from "../../ops/aws/access";
import { parseConfig } from "../../config";

export const target = "111122223333";
export const staging = "444455556666";
export const region = "us-east-1";
export const [web, db, app, local] = ["s-e000000000000web1", "s-e0000000000000db1", "s-e000000000000app1", "s-0000000000local01"];

export const awsError = (name: string, message = name, status = 400) =>
    Object.assign(new Error(message), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status } });
export const denied = (action: string) =>
    awsError("AccessDeniedException", `User: arn:aws:sts::${target}:assumed-role/Ops/me is not authorized to perform: ${action}`, 403);

/** DRS's own launch settings, which a server extended before the stack's launch settings keeps. */
const drsDefaults: LaunchConfiguration = {
    launchDisposition: "STARTED",
    targetInstanceTypeRightSizingMethod: "BASIC",
    copyPrivateIp: false,
    copyTags: true,
    licensing: { osByol: false },
    postLaunchEnabled: false,
};

/** The stack's launch settings in the tests: STOPPED, bring your own licence; copyTags left to DRS. */
export const launch = parseConfig({
    deploy: "target",
    target: { accountId: target, launch: [{ region, launchDisposition: "STOPPED", osByol: true }] },
    stagingStacks: ["organization/drs-cross-account-kms/staging"],
}).settings.target.launch;

const extended = (id: string, hostname: string): SourceServer => ({
    sourceServerID: id,
    sourceProperties: { identificationHints: { hostname } },
    stagingArea: {
        status: "EXTENDED",
        stagingAccountID: staging,
        stagingSourceServerArn: `arn:aws:drs:${region}:${staging}:source-server/s-${id.slice(3)}s`,
    },
});

/**
 * web-1 and db-1 were extended before the launch settings (DRS's defaults); app-1 has the stack's
 * already; local-1 replicates into the target itself (not extended: left out).
 */
export function launchWorld() {
    const drs = new DrsClient({ region });
    const mock = mockClient(drs);
    const configs = new Map<string, LaunchConfiguration>([
        [web, { ...drsDefaults, copyTags: false }],
        [db, { ...drsDefaults }],
        [app, { ...drsDefaults, launchDisposition: "STOPPED", licensing: { osByol: true } }],
        [local, { ...drsDefaults }],
    ]);
    /** Per server: the error its update throws, after doing it when `done` is set (a lost answer). */
    const failing = new Map<string, { error: Error; done?: boolean }>();
    mock.on(DescribeSourceServersCommand).resolves({
        items: [
            extended(web, "web-1"),
            extended(db, "db-1"),
            extended(app, "app-1"),
            {
                sourceServerID: local,
                sourceProperties: { identificationHints: { hostname: "local-1" } },
                stagingArea: { status: "NOT_EXTENDED" },
            },
        ],
    });
    mock.on(GetLaunchConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => ({
        sourceServerID: input.sourceServerID,
        ...configs.get(input.sourceServerID),
        ec2LaunchTemplateID: `lt-${input.sourceServerID.slice(2)}`,
    }));
    mock.on(UpdateLaunchConfigurationCommand).callsFake(async (input: LaunchConfiguration & { sourceServerID: string }) => {
        const { sourceServerID, ...changes } = input;
        const fails = failing.get(sourceServerID);
        if (fails?.done) configs.set(sourceServerID, { ...configs.get(sourceServerID), ...changes });
        if (fails) throw fails.error;
        configs.set(sourceServerID, { ...configs.get(sourceServerID), ...changes });
        return { sourceServerID, ...configs.get(sourceServerID) };
    });
    const access: AwsAccess = {
        drs: async () => drs,
        drsWriter: async () => drs,
        kms: async () => {
            throw new Error("align-launch never uses KMS");
        },
        ec2: async () => {
            throw new Error("align-launch never uses EC2");
        },
        iam: async () => {
            throw new Error("align-launch never uses IAM");
        },
    };
    return { access, mock, configs, failing };
}

/** Runs the command's core against the mocked target; returns exit code, stdout and stderr. */
export async function runLaunch(
    access: AwsAccess,
    options: Partial<AlignLaunchOptions> = {},
    entries = launch,
): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await alignLaunch(
        target,
        entries,
        access,
        { apply: false, json: false, ...options },
        {
            out: (t) => void (out += t),
            err: (t) => void (err += t),
        },
    );
    return { code, out, err };
}
