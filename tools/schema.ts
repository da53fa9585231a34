// npm run schema: the component schema that other languages' SDKs are generated from, as the
// Pulumi SDK's component provider derives it from the TypeScript sources. Writes the snapshot the
// tests compare against (tests/fixtures/component-schema.json).
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import * as fs from "fs";
import * as path from "path";
import { pluginComponents, pluginName } from "../components/plugin";

export const snapshotPath = path.join(__dirname, "..", "tests", "fixtures", "component-schema.json");

export function componentProvider(): ComponentProvider {
    return new ComponentProvider({ name: pluginName, components: pluginComponents, dirname: path.join(__dirname, "..", "components") });
}

export async function componentSchema(): Promise<Record<string, unknown>> {
    return JSON.parse(await componentProvider().getSchema());
}

if (require.main === module) {
    componentSchema().then((schema) => {
        fs.mkdirSync(path.dirname(snapshotPath), { recursive: true });
        fs.writeFileSync(snapshotPath, `${JSON.stringify(schema, null, 4)}\n`);
        console.log(`wrote ${path.relative(process.cwd(), snapshotPath)}`);
    });
}
