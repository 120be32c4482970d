// Files in the staff apps: reading an upload as base64 (dispute evidence) and saving a file the API
// answers with bytes, with the staff session's token and mode.
import { getLivemode, getStaffToken, StaffApiError } from './session.ts';

/** Reads a File as standard base64 (for evidence uploads). */
export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read.'));
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.readAsDataURL(file);
  });
}

/** Saves a file the API answers with bytes (a dispute's evidence file), with the staff session's
 * token and mode, as the browser's download of `filename`. */
export async function downloadFile(path: string, filename: string): Promise<void> {
  const headers: Record<string, string> = {};
  const token = getStaffToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (getLivemode()) headers['micropay-livemode'] = 'true';
  const response = await fetch(path, { headers });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new StaffApiError(response.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `The download failed (HTTP ${response.status}).`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
