#!/usr/bin/env node
// Launcher: the compiled CLI lives in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

await main(process.argv);
