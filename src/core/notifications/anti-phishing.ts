/**
 * The security setting holding a customer's anti-phishing code: shown in every email (and page) Drawbridge sends
 * them, so a message without it is not from us. Kept in the settings history like every security setting.
 */
export const ANTI_PHISHING_SETTING = 'anti_phishing_code';
