/** Audit actor for everything done over the admin socket (whoever can open it is root on this box). */
export const ADMIN_ACTOR = "admin:socket";
