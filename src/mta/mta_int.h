/* mta_int.h - private helpers shared by the MTA engine's files */
#ifndef OX_MTA_INT_H
#define OX_MTA_INT_H

#include "openx400/mta.h"

/* A file-name-safe form of |in| (addresses, identifiers). */
void ox_mta_safe_name(const char *in, char *out, size_t cap);
/* Closes the recipient directory kept open for the next file (delivery.c). */
void ox_mta_mailbox_forget_dir(ox_mta *m);
/* Writes the message for one local recipient into the mailbox; |path_out| gets the file.
 * Returns 0 or OX_E_IO (|err| says what). */
int ox_mta_deliver_file(ox_mta *m, int64_t msg_id, const char *mts_text, const char *rcpt_text,
                        uint32_t index, char *path_out, size_t path_cap, char *err, size_t cap);
/* The same from octets in memory: |envelope| then |content| (delivery at arrival). */
int ox_mta_deliver_octets(ox_mta *m, const char *mts_text, const char *rcpt_text, uint32_t index,
                          ox_span envelope, ox_span content, char *path_out, size_t path_cap,
                          char *err, size_t cap);

/* Holds the queue rows of a delivery at arrival until a sync makes its files durable
 * (delivery_notes.c). Returns 0 or OX_E_NOMEM. */
int ox_mta_note_add(ox_mta *m, const char *mts_id, uint64_t now_ms, const ox_queue_line *lines,
                    size_t n);
/* A delivery of |mts_id| waits for its sync: a resend of it is a duplicate. */
bool ox_mta_note_pending_for(const ox_mta *m, const char *mts_id);
/* Forgets every note (close). */
void ox_mta_notes_free(ox_mta *m);

#endif
