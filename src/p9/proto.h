/*
 * proto.h - 9P2000.L wire constants: message types, qid types, attribute
 * masks, open and lock flags. These numbers are the protocol (the Linux v9fs
 * client sends them); nothing here is lxs-specific, and nothing may change.
 *
 * Every message is size[4] type[1] tag[2] body, little-endian, where size
 * counts the whole message including itself. Strings are len[2] bytes[len]
 * with no terminating NUL; a qid is type[1] version[4] path[8].
 */
#ifndef LXS_P9_PROTO_H
#define LXS_P9_PROTO_H

#define P9_VERSION_L    "9P2000.L"
#define P9_NOTAG        0xffffu
#define P9_NOFID        0xffffffffu
#define P9_NONUNAME     0xffffffffu
#define P9_MAXWELEM     16 /* names per Twalk */
#define P9_HDRSZ        7  /* size[4] type[1] tag[2] */
#define P9_QIDSZ        13
#define P9_IOHDRSZ      11 /* Rread header: size type tag count[4] */
#define P9_TWRITE_HDRSZ 23 /* Twrite header: size type tag fid[4] offset[8] count[4] */
#define P9_READDIRHDRSZ 11 /* Rreaddir header: size type tag count[4] */
#define P9_LERRORSZ     11 /* the whole Rlerror message */

enum p9_type {
	P9_TLERROR = 6,
	P9_RLERROR,
	P9_TSTATFS = 8,
	P9_RSTATFS,
	P9_TLOPEN = 12,
	P9_RLOPEN,
	P9_TLCREATE = 14,
	P9_RLCREATE,
	P9_TSYMLINK = 16,
	P9_RSYMLINK,
	P9_TMKNOD = 18,
	P9_RMKNOD,
	P9_TRENAME = 20,
	P9_RRENAME,
	P9_TREADLINK = 22,
	P9_RREADLINK,
	P9_TGETATTR = 24,
	P9_RGETATTR,
	P9_TSETATTR = 26,
	P9_RSETATTR,
	P9_TXATTRWALK = 30,
	P9_RXATTRWALK,
	P9_TXATTRCREATE = 32,
	P9_RXATTRCREATE,
	P9_TREADDIR = 40,
	P9_RREADDIR,
	P9_TFSYNC = 50,
	P9_RFSYNC,
	P9_TLOCK = 52,
	P9_RLOCK,
	P9_TGETLOCK = 54,
	P9_RGETLOCK,
	P9_TLINK = 70,
	P9_RLINK,
	P9_TMKDIR = 72,
	P9_RMKDIR,
	P9_TRENAMEAT = 74,
	P9_RRENAMEAT,
	P9_TUNLINKAT = 76,
	P9_RUNLINKAT,
	P9_TVERSION = 100,
	P9_RVERSION,
	P9_TAUTH = 102,
	P9_RAUTH,
	P9_TATTACH = 104,
	P9_RATTACH,
	P9_TFLUSH = 108,
	P9_RFLUSH,
	P9_TWALK = 110,
	P9_RWALK,
	P9_TREAD = 116,
	P9_RREAD,
	P9_TWRITE = 118,
	P9_RWRITE,
	P9_TCLUNK = 120,
	P9_RCLUNK,
	P9_TREMOVE = 122,
	P9_RREMOVE,
};

/* qid.type */
#define P9_QTDIR     0x80
#define P9_QTSYMLINK 0x02
#define P9_QTFILE    0x00

/* Tgetattr request_mask / Rgetattr valid */
#define P9_GETATTR_MODE         0x00000001ull
#define P9_GETATTR_NLINK        0x00000002ull
#define P9_GETATTR_UID          0x00000004ull
#define P9_GETATTR_GID          0x00000008ull
#define P9_GETATTR_RDEV         0x00000010ull
#define P9_GETATTR_ATIME        0x00000020ull
#define P9_GETATTR_MTIME        0x00000040ull
#define P9_GETATTR_CTIME        0x00000080ull
#define P9_GETATTR_INO          0x00000100ull
#define P9_GETATTR_SIZE         0x00000200ull
#define P9_GETATTR_BLOCKS       0x00000400ull
#define P9_GETATTR_BTIME        0x00000800ull
#define P9_GETATTR_GEN          0x00001000ull
#define P9_GETATTR_DATA_VERSION 0x00002000ull
#define P9_GETATTR_BASIC        0x000007ffull
#define P9_GETATTR_ALL          0x00003fffull

/* Tsetattr valid */
#define P9_SETATTR_MODE      0x00000001u
#define P9_SETATTR_UID       0x00000002u
#define P9_SETATTR_GID       0x00000004u
#define P9_SETATTR_SIZE      0x00000008u
#define P9_SETATTR_ATIME     0x00000010u
#define P9_SETATTR_MTIME     0x00000020u
#define P9_SETATTR_CTIME     0x00000040u
#define P9_SETATTR_ATIME_SET 0x00000080u
#define P9_SETATTR_MTIME_SET 0x00000100u

/* Tlopen / Tlcreate flags (Linux's own values, spelled out by the protocol) */
#define P9_DOTL_RDONLY    000000000
#define P9_DOTL_WRONLY    000000001
#define P9_DOTL_RDWR      000000002
#define P9_DOTL_NOACCESS  000000003
#define P9_DOTL_ACCMODE   000000003
#define P9_DOTL_CREATE    000000100
#define P9_DOTL_EXCL      000000200
#define P9_DOTL_NOCTTY    000000400
#define P9_DOTL_TRUNC     000001000
#define P9_DOTL_APPEND    000002000
#define P9_DOTL_NONBLOCK  000004000
#define P9_DOTL_DSYNC     000010000
#define P9_DOTL_FASYNC    000020000
#define P9_DOTL_DIRECT    000040000
#define P9_DOTL_LARGEFILE 000100000
#define P9_DOTL_DIRECTORY 000200000
#define P9_DOTL_NOFOLLOW  000400000
#define P9_DOTL_NOATIME   001000000
#define P9_DOTL_CLOEXEC   002000000
#define P9_DOTL_SYNC      004000000

/* Tunlinkat flags */
#define P9_DOTL_AT_REMOVEDIR 0x200

/* Tlock / Tgetlock */
#define P9_LOCK_TYPE_RDLCK    0
#define P9_LOCK_TYPE_WRLCK    1
#define P9_LOCK_TYPE_UNLCK    2
#define P9_LOCK_FLAGS_BLOCK   1
#define P9_LOCK_FLAGS_RECLAIM 2
#define P9_LOCK_SUCCESS       0
#define P9_LOCK_BLOCKED       1
#define P9_LOCK_ERROR         2
#define P9_LOCK_GRACE         3

/* Txattrcreate flags (setxattr(2)'s) */
#define P9_XATTR_CREATE  1
#define P9_XATTR_REPLACE 2

#endif
