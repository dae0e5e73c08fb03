from __future__ import annotations

from django.urls import path

from people import views

urlpatterns = [
    path("people/thumbnails/<int:thumbnail_id>/", views.person_thumbnail, name="person_thumbnail"),
    path("people/", views.people_list, name="people"),
    path("people/merge/", views.people_merge, name="people_merge"),
    path("people/merges/<int:merge_id>/undo/", views.merge_undo, name="merge_undo"),
    path("people/<int:person_id>/", views.person_detail, name="person_detail"),
    path("people/<int:person_id>/rename/", views.person_rename, name="person_rename"),
    path("people/<int:person_id>/consent/", views.person_consent, name="person_consent"),
    path(
        "people/<int:person_id>/tracks/<int:track_id>/faces.jpg",
        views.track_faces_image,
        name="person_track_faces",
    ),
    path("people/<int:person_id>/split/", views.person_split, name="person_split"),
    path("people/<int:person_id>/delete/", views.person_delete, name="person_delete"),
    path("people/<int:person_id>/flag/dismiss/", views.person_flag_dismiss, name="person_flag_dismiss"),
    path("people/suggestions/<int:suggestion_id>/", views.suggestion_answer, name="suggestion_answer"),
    path("privacy/", views.privacy_settings, name="privacy_settings"),
    path("privacy/delete-account/", views.account_delete, name="account_delete"),
]
