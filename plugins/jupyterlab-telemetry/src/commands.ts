/**
 * Records every command JupyterLab executes (menu, shortcut, palette, toolbar,
 * launcher): its id and its arguments, made safe by `safeArgs`.
 */
import type { CommandRegistry } from '@lumino/commands';
import { safeArgs } from './args';
import { SCHEMA } from './schemas';
import type { Telemetry } from './telemetry';

export function recordCommands(
  commands: CommandRegistry,
  telemetry: Telemetry
): void {
  commands.commandExecuted.connect((_, executed) => {
    telemetry.record(SCHEMA.command, {
      command_id: executed.id,
      args: safeArgs(executed.args)
    });
  });
}
