// The bank's 3-D Secure page, opened by the wallet's top-up and the checkout frame's.

/** The window's name: window.open below and the "Open the verification page" links. */
export const THREE_DS_WINDOW = 'micropay-3ds';

/**
 * Opens the bank's 3-D Secure page in a popup that cannot reach back to the opening page: the popup
 * starts on a blank page of this origin, its `opener` is cut, then it goes to the bank. Left with an
 * opener, the bank's page (another origin) could send the opening page, which holds the buyer's session
 * (and in the frame, card fields), to a page of its own (reverse tabnabbing). The top-up is confirmed by
 * polling the API, not through the popup; null when the browser blocked the popup. Without an opener,
 * browsers may refuse popup.close() once the bank's page is shown (Chromium does): closing is best
 * effort.
 */
export function openThreeDSecure(url: string): Window | null {
  const popup = window.open('about:blank', THREE_DS_WINDOW, 'popup,width=480,height=640');
  if (!popup) return null;
  try {
    popup.opener = null;
  } catch {
    // Only a window of another origin refuses: not the blank one just opened.
  }
  popup.location.replace(url);
  return popup;
}
