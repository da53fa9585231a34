// ESLint: typescript-eslint's recommended rules, type-aware, and Pulumi's Output-in-template rules.
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "**/dist/", "examples/**/node_modules/"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            // An Output in a template literal prints "Calling [toString] on an [Output<T>]...", not its value.
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
        },
    },
    {
        // The SDK's mock interfaces and the parsed policies the tests read are untyped property bags.
        files: ["tests/**/*.ts", "plan/mockRuntime.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
