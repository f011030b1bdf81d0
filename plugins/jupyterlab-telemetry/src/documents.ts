/**
 * Records the documents and files opened in tabs, with the widget factory that
 * opened them (Notebook, Editor, CSVTable...).
 */
import type { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import type {
  IDocumentManager,
  IDocumentWidgetOpener
} from '@jupyterlab/docmanager';
import { SCHEMA } from './schemas';
import type { Telemetry } from './telemetry';

export function recordDocuments(
  opener: IDocumentWidgetOpener,
  docManager: IDocumentManager,
  registry: DocumentRegistry,
  telemetry: Telemetry
): void {
  const seen = new WeakSet<IDocumentWidget>(); // the opener fires again on reveal
  opener.opened.connect((_, widget) => {
    if (seen.has(widget)) {
      return;
    }
    seen.add(widget);
    const path = widget.context.path;
    const factory = factoryOf(widget, docManager, registry);
    const fileType = registry.getFileTypesForPath(path)[0]?.name;
    telemetry.record(SCHEMA.documentOpened, {
      factory: factory ?? 'unknown',
      ...(fileType ? { file_type: fileType } : {}),
      path
    });
  });
}

/** The name of the widget factory that made `widget`: the one the manager finds it under. */
function factoryOf(
  widget: IDocumentWidget,
  docManager: IDocumentManager,
  registry: DocumentRegistry
): string | undefined {
  for (const factory of registry.widgetFactories()) {
    if (docManager.findWidget(widget.context.path, factory.name) === widget) {
      return factory.name;
    }
  }
  return undefined;
}
