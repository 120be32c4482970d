// Passkey ceremonies through @simplewebauthn/browser, as the checkout frame does them.
import {
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import type { WalletApi } from './api.ts';

export async function signUpWithPasskey(api: WalletApi, body: { email: string; display_name?: string }): Promise<void> {
  const { registration, options } = await api.registrationOptions(body);
  const credential = await startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON });
  api.remember(await api.registrationVerify(registration, credential));
}

export async function signInWithPasskey(api: WalletApi): Promise<void> {
  const { authentication, options } = await api.authenticationOptions();
  const credential = await startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON });
  api.remember(await api.authenticationVerify(authentication, credential));
}

/** One more passkey for the signed-in buyer (the session rides along): after a recovery by code, or a new device. */
export async function addPasskey(api: WalletApi): Promise<void> {
  const { registration, options } = await api.registrationOptions({});
  const credential = await startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON });
  api.remember(await api.registrationVerify(registration, credential));
}
