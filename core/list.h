/** Intrusive doubly linked lists: a node is any struct with prev and next pointers to its own
 * type, a list is a pointer to its first node (NULL when empty). Plain C. */
#ifndef CANDOR_LIST_H
#define CANDOR_LIST_H

/** Puts node first in the list whose head pointer is head. */
#define LIST_PUSH(head, node)                                                                                \
	do {                                                                                                 \
		(node)->prev = NULL;                                                                         \
		(node)->next = (head);                                                                       \
		if (head)                                                                                    \
			(head)->prev = (node);                                                               \
		(head) = (node);                                                                             \
	} while (0)

/** Takes node out of the list whose head pointer is head (it must be in it). */
#define LIST_UNLINK(head, node)                                                                              \
	do {                                                                                                 \
		if ((node)->prev)                                                                            \
			(node)->prev->next = (node)->next;                                                   \
		else                                                                                         \
			(head) = (node)->next;                                                               \
		if ((node)->next)                                                                            \
			(node)->next->prev = (node)->prev;                                                   \
		(node)->prev = (node)->next = NULL;                                                          \
	} while (0)

#endif
