import { expect } from "chai";
import { ConfigError, parseConfig } from "../../config";
import { byType, runProgram, stackFileConfig } from "../support/mocks";

const target = "111122223333";
const staging = "444455556666";
const entry = { accountId: staging, region: "us-east-1", replication: { stagingAreaSubnetId: "subnet-0123456789abcdef0" } };
const withLaunch = (launch: unknown, extra: Record<string, unknown> = {}) => ({
    target: { accountId: target, keyUserRoleNames: ["R"], roleArn: `arn:aws:iam::${target}:role/Deploy`, launch, ...extra },
    stagingAccounts: [entry],
});
const decode = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value);

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseConfig(raw);
        return [];
    } catch (err) {
        return (err as ConfigError).problems.map((p) => p.replace(/^drs-cross-account-kms:/, ""));
    }
}

describe("DRS launch settings (target, aws-native)", () => {
    it("parses a launch block per recovery Region", () => {
        const { settings } = parseConfig(
            withLaunch([{ region: "us-east-1", copyPrivateIp: true, launchDisposition: "STOPPED", osByol: true }]),
        );
        expect(settings.target.launch).to.deep.equal([
            {
                region: "us-east-1",
                copyPrivateIp: true,
                launchDisposition: "STOPPED",
                osByol: true,
                retainOnDelete: true,
            },
        ]);
    });

    it("reports every bad value before any resource, naming its key", () => {
        expect(
            problems(
                withLaunch([
                    {
                        region: "us-west-2",
                        launchDisposition: "RUNNING",
                        targetInstanceTypeRightSizingMethod: "LARGE",
                        copyTags: "yes",
                        exportBucketArn: "my-bucket",
                        importTemplateId: "lct-1",
                        bootMode: "UEFI",
                    },
                    { region: "us-east-1" },
                    { region: "us-east-1" },
                ]),
            ).map((p) => p.split(" ")[0]),
        ).to.have.members([
            "target.launch[0].bootMode",
            "target.launch[0].exportBucketArn",
            "target.launch[0].importTemplateId",
            "target.launch[0].copyTags",
            "target.launch[0].launchDisposition",
            "target.launch[0].targetInstanceTypeRightSizingMethod",
            "target.launch",
            "target.launch[0].region",
        ]);
        expect(problems(withLaunch([{ region: "us-west-2" }]))).to.deep.equal([
            'target.launch[0].region "us-west-2" is not a recovery Region (us-east-1): DRS recovers extended source servers in their staging Region.',
        ]);
        expect(problems(withLaunch({ region: "us-east-1" }))[0]).to.match(/^target.launch must be a list/);
    });

    it("creates one launch template per Region with an aws-native provider pinned to the target account, assuming its role", async () => {
        const run = await runProgram(
            withLaunch([
                {
                    region: "us-east-1",
                    copyPrivateIp: true,
                    copyTags: false,
                    launchDisposition: "STARTED",
                    targetInstanceTypeRightSizingMethod: "IN_AWS",
                    osByol: true,
                    postLaunchEnabled: true,
                    exportBucketArn: "arn:aws:s3:::dr-network-templates",
                },
            ]),
        );
        const providers = byType(run.mocks, "pulumi:providers:aws-native");
        expect(
            providers.map((p) => [p.name, decode(p.inputs.allowedAccountIds), p.inputs.region, decode(p.inputs.assumeRole)]),
        ).to.deep.equal([
            [
                `aws-native-target-${target}-us-east-1`,
                [target],
                "us-east-1",
                { roleArn: `arn:aws:iam::${target}:role/Deploy`, sessionName: "drs-cross-account-kms" },
            ],
        ]);
        const [template] = byType(run.mocks, "aws-native:drs:LaunchConfigurationTemplate");
        expect(template.provider).to.equal(`aws-native-target-${target}-us-east-1`);
        expect(template.account).to.equal(target);
        expect(template.inputs).to.deep.equal({
            copyPrivateIp: true,
            copyTags: false,
            launchDisposition: "STARTED",
            targetInstanceTypeRightSizingMethod: "IN_AWS",
            licensing: { osByol: true },
            postLaunchEnabled: true,
            exportBucketArn: "arn:aws:s3:::dr-network-templates",
        });
        expect(byType(run.mocks, "drs-cross-account-kms:index:DrsLaunchSettings").map((c) => c.name)).to.deep.equal([
            `drs-launch-${target}-us-east-1`,
        ]);
    });

    it("adopts an existing launch template, and leaves it in place when removed, also once importTemplateId is dropped", async () => {
        const template = async (launch: Record<string, unknown>) => {
            const run = await runProgram(withLaunch([{ region: "us-east-1", ...launch }]));
            const [registered] = byType(run.mocks, "aws-native:drs:LaunchConfigurationTemplate");
            return { kept: [registered.importId, registered.retainOnDelete], warnings: run.warnings.join("\n") };
        };
        expect((await template({ importTemplateId: "lct-0123456789abcdef0" })).kept).to.deep.equal(["lct-0123456789abcdef0", true]);
        expect((await template({})).kept).to.deep.equal([undefined, true]);
        const optedOut = await template({ retainOnDelete: false });
        expect(optedOut.kept).to.deep.equal([undefined, false]);
        expect(optedOut.warnings).to.match(
            /target.launch\[0\].retainOnDelete is false: .* deletes the launch configuration template in us-east-1/,
        );
    });

    it("warns that IN_AWS right-sizing needs DRS's failback and in-AWS right-sizing roles, and says nothing for BASIC", async () => {
        const warningsOf = async (method: string) =>
            (await runProgram(withLaunch([{ region: "us-east-1", targetInstanceTypeRightSizingMethod: method }]))).warnings.join("\n");
        expect(await warningsOf("IN_AWS")).to.match(
            /target.launch\[0\].targetInstanceTypeRightSizingMethod is IN_AWS: .*DRSCrossAccountReplicationRole_\d{12} and two more/,
        );
        expect(await warningsOf("BASIC")).to.not.include("right-sizing");
    });

    it("creates no aws-native provider for a stack without launch settings", async () => {
        const run = await runProgram({ target: { accountId: target, keyUserRoleNames: ["R"] }, stagingAccounts: [entry] });
        expect(byType(run.mocks, "pulumi:providers:aws-native")).to.deep.equal([]);
    });

    it("in a target stack, checks launch Regions against the staging stacks' keys", async () => {
        const stagingRun = await runProgram(stackFileConfig("staging"));
        let error: Error | undefined;
        try {
            await runProgram(
                { ...stackFileConfig("target"), target: { accountId: target, keyUserRoleNames: ["R"], launch: [{ region: "eu-west-1" }] } },
                { "organization/drs-cross-account-kms/staging": stagingRun.outputs },
            );
        } catch (err) {
            error = err as Error;
        }
        expect(error?.message).to.match(/target.launch\[0\].region "eu-west-1" has no staging key in the staging stacks/);
    });
});
