/**
 * Records every command JupyterLab executes (menu, shortcut, palette, toolbar,
 * launcher): its id and its arguments, made safe by `safeArgs`, except the UI's own
 * queries (`*:get-kernel`).
 */
import type { CommandRegistry } from '@lumino/commands';
import { safeArgs } from './args';
import { SCHEMA } from './schemas';
import type { Telemetry } from './telemetry';

/**
 * Commands the UI runs by itself, not the user: menus and toolbars ask for the current
 * kernel with these every time the focus moves.
 */
export const QUERIES = /:get-kernel$/;

export function recordCommands(
  commands: CommandRegistry,
  telemetry: Telemetry
): void {
  commands.commandExecuted.connect((_, executed) => {
    if (QUERIES.test(executed.id)) {
      return;
    }
    telemetry.record(SCHEMA.command, {
      command_id: executed.id,
      args: safeArgs(executed.args)
    });
  });
}
