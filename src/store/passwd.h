/*
 * passwd.h - users in a distro's /etc/passwd text, however it was read
 * (from an ext4 image by extfile.c, or from a version-1 folder). Kept apart
 * from extfile.c so that what only looks users up needs no libext2fs.
 */
#ifndef LXS_STORE_PASSWD_H
#define LXS_STORE_PASSWD_H

/*
 * Look user up in a passwd text ("" = root, "#N" = uid N): 0 with name,
 * uid, home and shell filled, or -ENOENT.
 */
struct pw_entry {
	char name[65];
	unsigned uid, gid;
	char home[256], shell[256];
};
int passwd_lookup(const char *text, const char *user, struct pw_entry *e);

#endif
